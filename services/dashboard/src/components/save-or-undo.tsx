/**
 * Save and Undo changes for an edited draft of roles, both idle while nothing changed or the save is
 * out. Test ids: `testId` with `-save` and `-undo`.
 */
export function SaveOrUndo({
  busy,
  unchanged,
  onUndo,
  testId,
}: {
  busy: boolean;
  unchanged: boolean;
  onUndo: () => void;
  testId: string;
}) {
  return (
    <>
      <button type="submit" className="button button-primary" disabled={busy || unchanged} data-testid={`${testId}-save`}>
        {busy ? 'Saving…' : 'Save roles'}
      </button>
      <button
        type="button"
        className="button button-quiet"
        disabled={busy || unchanged}
        onClick={onUndo}
        data-testid={`${testId}-undo`}
      >
        Undo changes
      </button>
    </>
  );
}
