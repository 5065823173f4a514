import type { FormEvent, ReactNode } from 'react';
import { Dialog } from './dialog.js';
import { DialogActions } from './form-field.js';
import { Notice } from './notice.js';

/**
 * A dialog that is one form: its fields, then the failure no field explains, then Cancel and the
 * submit button. Test ids: `${testId}-dialog`, `${testId}-form`, `${testId}-submit`, and
 * `errorTestId` (`${testId}-dialog-error` unless given) on the failure.
 */
export function FormDialog({
  title,
  testId,
  errorTestId = `${testId}-dialog-error`,
  wide,
  label,
  busyLabel = 'Saving…',
  busy,
  failure,
  onSubmit,
  onClose,
  children,
}: {
  title: string;
  testId: string;
  errorTestId?: string;
  wide?: boolean;
  /** The submit button's text. */
  label: string;
  /** The submit button's text while the form is out; "Saving…" unless given. */
  busyLabel?: string;
  busy: boolean;
  failure: string | null;
  onSubmit: (e: FormEvent) => Promise<void>;
  onClose: () => void;
  children: ReactNode;
}) {
  return (
    <Dialog title={title} onClose={onClose} testId={`${testId}-dialog`} wide={wide}>
      <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid={`${testId}-form`}>
        {children}
        {failure && <Notice testId={errorTestId}>{failure}</Notice>}
        <DialogActions label={label} busyLabel={busyLabel} busy={busy} testId={`${testId}-submit`} onClose={onClose} />
      </form>
    </Dialog>
  );
}
