/** The two fields of a new password (typed twice), named `${testId}-password` and `${testId}-repeat` for tests. */
export function NewPasswordFields({
  password,
  repeat,
  onPassword,
  onRepeat,
  testId,
}: {
  password: string;
  repeat: string;
  onPassword: (value: string) => void;
  onRepeat: (value: string) => void;
  testId: string;
}) {
  return (
    <>
      <label className="field">
        <span className="field-label">New password</span>
        <input
          type="password"
          autoComplete="new-password"
          value={password}
          maxLength={256}
          onChange={(e) => onPassword(e.target.value)}
          data-testid={`${testId}-password`}
        />
      </label>
      <label className="field">
        <span className="field-label">Repeat it</span>
        <input
          type="password"
          autoComplete="new-password"
          value={repeat}
          maxLength={256}
          onChange={(e) => onRepeat(e.target.value)}
          data-testid={`${testId}-repeat`}
        />
      </label>
    </>
  );
}
