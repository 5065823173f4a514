/**
 * A destructive action asked twice in place: `label` first, then "Keep" or "`label` now". The
 * second button's test id is `testId` with `-confirm`.
 */
export function ConfirmButton({
  label,
  testId,
  confirming,
  disabled,
  onAsk,
  onKeep,
  onConfirm,
}: {
  label: string;
  testId: string;
  /** Whether this one is asking right now (a table asks for one row at a time). */
  confirming: boolean;
  disabled?: boolean;
  onAsk: () => void;
  onKeep: () => void;
  onConfirm: () => void;
}) {
  if (!confirming) {
    return (
      <button type="button" className="button button-danger" disabled={disabled} onClick={onAsk} data-testid={testId}>
        {label}
      </button>
    );
  }
  return (
    <span className="actions">
      <button type="button" className="button button-quiet" onClick={onKeep}>
        Keep
      </button>
      <button type="button" className="button button-danger-solid" onClick={onConfirm} data-testid={`${testId}-confirm`}>
        {label} now
      </button>
    </span>
  );
}
