import type { FormEvent, ReactNode } from 'react';

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

/**
 * The frame of a roles editor: a form for those who may change the roles (given `onSubmit`), else a
 * block of the same look to read; `data-read-only` says which, the browser's checks stay off.
 */
export function RolesEditorFrame({
  className,
  testId,
  onSubmit,
  children,
}: {
  className: string;
  testId: string;
  onSubmit: ((e: FormEvent) => Promise<void>) | undefined;
  children: ReactNode;
}) {
  if (!onSubmit) {
    return (
      <div className={className} data-testid={testId} data-read-only="true">
        {children}
      </div>
    );
  }
  return (
    <form className={className} noValidate onSubmit={(e) => void onSubmit(e)} data-testid={testId} data-read-only="false">
      {children}
    </form>
  );
}
