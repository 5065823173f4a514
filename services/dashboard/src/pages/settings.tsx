import { type ApiKeyCreateResponse, Role } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { api } from '../api/instance.js';
import { CredentialCells, CredentialTable, useRevoke } from '../components/credential-table.js';
import { TextInput } from '../components/form-field.js';
import { Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { useSubmit } from '../hooks/use-submit.js';
import { AuditLogSection } from './audit-log.js';
import { CreatedKey } from './created-key.js';
import { InvitationsSection } from './invitations.js';
import { MembersSection } from './members.js';
import { SingleSignOnSection } from './single-sign-on.js';

export function SettingsPage({
  role,
  userId,
  workspaceSlug,
}: {
  role: Role | null;
  userId: string | null;
  workspaceSlug: string | null;
}) {
  const keys = useResource((signal) => api.call('apiKeysList', { signal }), []);
  const [created, setCreated] = useState<ApiKeyCreateResponse | null>(null);
  const revocation = useRevoke((id) => api.call('apiKeysRevoke', { params: { id } }), keys);
  const now = useNow(30_000);
  const canManage = role === null || role === 'owner' || role === 'admin';
  // people and the audit log appear once whoami has confirmed the role: the API refuses every other one
  const canGovern = role === 'owner' || role === 'admin';

  return (
    <div className="page">
      <div className="page-header">
        <h1>Settings</h1>
      </div>
      <section className="panel" aria-label="API keys">
        <div className="panel-header">
          <h2>API keys</h2>
        </div>
        {!canManage && <Notice kind="info">Only owners and admins manage API keys.</Notice>}
        {canManage && (
          <CreateKeyForm
            onCreated={(response) => {
              setCreated(response);
              void keys.reload();
            }}
          />
        )}
        {created && <CreatedKey created={created} onDone={() => setCreated(null)} />}
        <CredentialTable
          list={keys}
          error={revocation.error}
          empty="No API keys."
          testId="api-keys-table"
          kind="Role"
          secret="Key"
          row={(key) => (
            <tr key={key.id} data-testid="api-key-row" data-key-name={key.name} className={key.revokedAt ? 'row-revoked' : ''}>
              <td>
                <div className="cell-main">
                  <span className="strong">{key.name}</span>
                  {key.pools.length > 0 && <span className="muted small">pools: {key.pools.join(', ')}</span>}
                </div>
              </td>
              <td>{key.role}</td>
              <CredentialCells credential={key} now={now} />
              <td className="num">
                {key.revokedAt ? (
                  <span className="pill pill-offline">Revoked</span>
                ) : (
                  canManage && revocation.button(key.id, 'api-key-revoke')
                )}
              </td>
            </tr>
          )}
        />
      </section>
      {userId !== null && <InvitationsSection />}
      {canGovern && <MembersSection currentUserId={userId} />}
      {canGovern && <SingleSignOnSection workspaceSlug={workspaceSlug} canChange={role === 'owner'} />}
      {canGovern && <AuditLogSection />}
    </div>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (created: ApiKeyCreateResponse) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const [pools, setPools] = useState('');
  const { error, setError, busy, submit } = useSubmit();

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      setError('Name: use letters, digits, ".", "_" or "-", starting with a letter or digit.');
      return;
    }
    const poolList = pools
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    await submit(
      () =>
        api.call('apiKeysCreate', {
          body: { name, role, pools: role === 'worker' && poolList.length > 0 ? poolList : undefined },
        }),
      (created) => {
        setName('');
        setPools('');
        onCreated(created);
      },
    );
  };

  return (
    <form className="inline-form" onSubmit={(e) => void onSubmit(e)} data-testid="api-key-form">
      <TextInput
        placeholder="Key name, e.g. ci-deploy"
        value={name}
        maxLength={100}
        onChange={setName}
        aria-label="Key name"
        testId="api-key-name"
      />
      <select value={role} onChange={(e) => setRole(e.target.value as Role)} aria-label="Role" data-testid="api-key-role">
        <Options values={Role.options} />
      </select>
      {role === 'worker' && (
        <TextInput
          placeholder="Pools, comma-separated (empty: all)"
          className="wide-input"
          value={pools}
          onChange={setPools}
          aria-label="Pools"
          testId="api-key-pools"
        />
      )}
      <button type="submit" className="button button-primary" disabled={busy || !name} data-testid="api-key-create">
        Create key
      </button>
      {error && <span className="field-error">{error}</span>}
    </form>
  );
}
