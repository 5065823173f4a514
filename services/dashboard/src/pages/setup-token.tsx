import { CopyField } from '../components/copy-field.js';
import { formatDateTime } from '../lib/format.js';
import { href } from '../router.js';

/** A new person's one-time password setup token, shown this once, with the link that uses it. */
export function SetupToken({
  email,
  token,
  expiresAt,
  message,
  onDone,
}: {
  email: string;
  token: string;
  expiresAt: string | null;
  /** What the server said happened (whether the person was emailed too). */
  message?: string;
  onDone: () => void;
}) {
  const link = `${window.location.origin}${window.location.pathname}${href('/set-password', { token })}`;

  return (
    <div className="created-key" role="status" data-testid="member-added">
      <p>
        <strong>{email}</strong> was added. Send them this link to set their password
        {expiresAt ? ` before ${formatDateTime(expiresAt)}` : ''}: it will not be shown again.
      </p>
      <CopyField
        value={link}
        label="Password setup link"
        what="link"
        testId="member-setup-link"
        copyTestId="member-setup-copy"
        copyLabel="Copy link"
        done={{ onClick: onDone, testId: 'member-setup-done' }}
      />
      <p className="muted small">
        Setup token: <code data-testid="member-setup-token">{token}</code>
      </p>
      {message && (
        <p className="muted small" data-testid="member-added-message">
          {message}
        </p>
      )}
    </div>
  );
}
