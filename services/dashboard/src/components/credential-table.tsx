import { type ReactNode, useState } from 'react';
import { type ApiResult, describeFailure } from '../api/client.js';
import type { Resource } from '../hooks/use-resource.js';
import { formatDateTime, formatRelative } from '../lib/format.js';
import { ConfirmButton } from './confirm-button.js';
import { Empty, Notice } from './notice.js';
import { TableHead } from './table-head.js';

/** What an API key and an organisation token have alike: a prefix to recognise it by and its times. */
interface Credential {
  id: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

/**
 * Revoking the credentials of a list, one row asked at a time: `button` is a row's Revoke (asked
 * twice), `error` the last revocation's failure; the list is read again after each.
 */
export function useRevoke(revokeCall: (id: string) => Promise<ApiResult<unknown>>, list: Resource<unknown>) {
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const revoke = async (id: string) => {
    setConfirming(null);
    const result = await revokeCall(id);
    setError(result.ok ? null : describeFailure(result));
    await list.reload();
  };
  const button = (id: string, testId: string) => (
    <ConfirmButton
      label="Revoke"
      testId={testId}
      confirming={confirming === id}
      onAsk={() => setConfirming(id)}
      onKeep={() => setConfirming(null)}
      onConfirm={() => void revoke(id)}
    />
  );
  return { error, button };
}

/**
 * A list of credentials: the failure to read or revoke them, `empty` when there are none, else a
 * table of a row each (`row`, whose cells after the first two are `CredentialCells` and the actions).
 * `kind` names the second column, `secret` the third, where the prefix stands.
 */
export function CredentialTable<T extends Credential>({
  list,
  error,
  empty,
  testId,
  kind,
  secret,
  row,
}: {
  list: Resource<{ items: T[] }>;
  error: string | null;
  empty: string;
  testId: string;
  kind: string;
  secret: string;
  row: (item: T) => ReactNode;
}) {
  const items = list.data?.items;
  return (
    <>
      {(error ?? list.error) && <Notice>{error ?? list.error}</Notice>}
      {items && items.length === 0 && <Empty>{empty}</Empty>}
      {items && items.length > 0 && (
        <table className="grid-table" data-testid={testId}>
          <TableHead columns={['Name', kind, secret, 'Created', 'Last used', 'Expires', { hidden: 'Actions' }]} />
          <tbody>{items.map(row)}</tbody>
        </table>
      )}
    </>
  );
}

/** A credential row's prefix, creation, last use (`lastUsedTestId` on its cell) and expiry cells. */
export function CredentialCells({
  credential,
  now,
  lastUsedTestId,
}: {
  credential: Credential;
  now: number;
  lastUsedTestId?: string;
}) {
  return (
    <>
      <td>
        <code>{credential.prefix}…</code>
      </td>
      <td>{formatDateTime(credential.createdAt)}</td>
      <td data-testid={lastUsedTestId}>
        {credential.lastUsedAt ? formatRelative(credential.lastUsedAt, now) : <span className="muted">never</span>}
      </td>
      <td>{credential.expiresAt ? formatDateTime(credential.expiresAt) : <span className="muted">never</span>}</td>
    </>
  );
}
