import type { OrganisationListResponse } from '@outpost/sdk/contracts';
import { useEffect, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { useResource } from '../hooks/use-resource.js';

/**
 * Moves the signed-in person's session to another workspace they can open, grouped by organisation:
 * their memberships, and every workspace of an organisation where they are owner, admin or auditor.
 * The page starts over in the new workspace, at its overview.
 */
/** Sent on `window` by a page that created, renamed, archived or restored a workspace: the switcher reads its list again. */
export const WORKSPACES_CHANGED = 'outpost:workspaces-changed';

export function WorkspaceSwitcher({ current }: { current: string }) {
  const organisations = useResource((signal) => api.call('organisationsList', { signal }), []);
  const { reload } = organisations;
  useEffect(() => {
    const onChange = () => void reload();
    window.addEventListener(WORKSPACES_CHANGED, onChange);
    return () => window.removeEventListener(WORKSPACES_CHANGED, onChange);
  }, [reload]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const items: OrganisationListResponse['items'] = organisations.data?.items ?? [];
  const choices = items.reduce((n, o) => n + o.workspaces.length, 0);
  if (choices < 2) return null;

  const switchTo = async (workspace: string) => {
    setBusy(true);
    const result = await api.call('authSessionSwitch', { body: { workspace } });
    if (!result.ok) {
      setBusy(false);
      setError(describeFailure(result));
      return;
    }
    window.location.hash = '#/';
    window.location.reload();
  };

  return (
    <span className="workspace-switcher">
      {/* The top bar already names the current workspace: closed, the list says what it does instead. */}
      <select
        value=""
        disabled={busy}
        onChange={(e) => {
          if (e.target.value) void switchTo(e.target.value);
        }}
        aria-label="Switch workspace"
        data-testid="workspace-switcher"
      >
        <option value="" disabled>
          Switch workspace…
        </option>
        {items.map((organisation) => (
          <optgroup key={organisation.id} label={organisation.name}>
            {organisation.workspaces.map((w) => (
              <option key={w.id} value={w.slug} disabled={w.slug === current} data-testid="workspace-switcher-option">
                {w.name}
                {w.archivedAt ? ' (archived)' : ''}
                {w.role === 'viewer' ? ' · read-only' : ''}
                {w.slug === current ? ' (current)' : ''}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
