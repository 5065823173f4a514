import type { ApiKeyCreateResponse } from '@outpost/sdk/contracts';
import { useCopy } from '../hooks/use-copy.js';

/** The new key, shown this once; it cannot be read again from the API. */
export function CreatedKey({ created, onDone }: { created: ApiKeyCreateResponse; onDone: () => void }) {
  const { copied, copy, field } = useCopy(created.key);

  return (
    <div className="created-key" role="status" data-testid="api-key-created">
      <p>
        <strong>{created.apiKey.name}</strong> ({created.apiKey.role}) was created. Copy the key now: it will not be shown again.
      </p>
      <div className="created-key-row">
        <input
          ref={field}
          readOnly
          value={created.key}
          className="mono"
          onFocus={(e) => e.target.select()}
          data-testid="api-key-secret"
        />
        <button type="button" className="button" onClick={() => void copy()} data-testid="api-key-copy">
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="button button-quiet" onClick={onDone} data-testid="api-key-done">
          Done
        </button>
      </div>
      {copied === 'failed' && <span className="muted small">Copying was blocked; the key is selected, press Ctrl+C.</span>}
    </div>
  );
}
