import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { CredentialCells, CredentialTable } from '../src/components/credential-table.js';
import type { Resource } from '../src/hooks/use-resource.js';

interface Key {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

const NOW = Date.parse('2026-03-02T12:00:00.000Z');
const KEY: Key = {
  id: 'k1',
  name: 'ci-deploy',
  prefix: 'op_ab12',
  createdAt: '2026-03-01T12:00:00.000Z',
  lastUsedAt: null,
  expiresAt: null,
};

function list(items: Key[] | null, error: string | null = null): Resource<{ items: Key[] }> {
  return { data: items ? { items } : null, error, loading: false, reload: async () => {} };
}

function render(resource: Resource<{ items: Key[] }>, error: string | null = null): string {
  return renderToStaticMarkup(
    <CredentialTable
      list={resource}
      error={error}
      empty="No API keys."
      testId="api-keys-table"
      kind="Role"
      secret="Key"
      row={(key) => (
        <tr key={key.id} data-testid="api-key-row">
          <td>{key.name}</td>
          <td>developer</td>
          <CredentialCells credential={key} now={NOW} lastUsedTestId="key-last-used" />
          <td />
        </tr>
      )}
    />,
  );
}

describe('a list of credentials', () => {
  it('names its columns and shows each prefix, with never for a key not used and one that does not expire', () => {
    const html = render(list([KEY]));
    expect(html).toContain(
      '<tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col" aria-label="Actions"></th></tr>',
    );
    expect(html).toContain('<code>op_ab12…</code>');
    expect(html).toContain('<td data-testid="key-last-used"><span class="muted">never</span></td>');
  });

  it('says when there are none, instead of an empty table', () => {
    const html = render(list([]));
    expect(html).toContain('<div class="empty">No API keys.</div>');
    expect(html).not.toContain('api-keys-table');
  });

  it("shows a revocation's failure before the list's own", () => {
    const html = render(list([KEY], 'could not read'), 'could not revoke');
    expect(html).toContain('could not revoke');
    expect(html).not.toContain('could not read');
  });
});
