import type { ApiKeyCreateResponse } from '@outpost/sdk/contracts';
import { CopyField } from '../components/copy-field.js';

/** The new key, shown this once; it cannot be read again from the API. */
export function CreatedKey({ created, onDone }: { created: ApiKeyCreateResponse; onDone: () => void }) {
  return (
    <div className="created-key" role="status" data-testid="api-key-created">
      <p>
        <strong>{created.apiKey.name}</strong> ({created.apiKey.role}) was created. Copy the key now: it will not be shown again.
      </p>
      <CopyField
        value={created.key}
        label="API key"
        what="key"
        testId="api-key-secret"
        copyTestId="api-key-copy"
        done={{ onClick: onDone, testId: 'api-key-done' }}
      />
    </div>
  );
}
