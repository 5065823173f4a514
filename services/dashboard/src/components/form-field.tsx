import type { InputHTMLAttributes, ReactNode } from 'react';

/** A form's field errors by field name, as `fieldErrorsByField` gives them and local checks add to them. */
export type FieldErrorMap = Record<string, string[]>;

/** A field's errors as a list under it; nothing when it has none. */
export function FieldErrors({ id, messages, testId }: { id: string; messages: string[] | undefined; testId?: string }) {
  if (!messages || messages.length === 0) return null;
  return (
    <ul className="field-error field-error-list" id={id} data-testid={testId}>
      {messages.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

/** Props that tie an input to its error list, so a screen reader reads the error with the field. */
export function describedBy(messages: string[] | undefined, id: string) {
  return messages?.length ? { 'aria-invalid': true as const, 'aria-describedby': id } : {};
}

/**
 * A one-line input over a string the caller keeps: `onChange` gets the new text. Every other
 * attribute (the name a screen reader reads, the placeholder, limits, autocomplete) passes through.
 */
export function TextInput({
  value,
  onChange,
  testId,
  ...attributes
}: Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange'> & {
  value: string;
  onChange: (value: string) => void;
  testId: string;
}) {
  return (
    <input
      {...(attributes.type === undefined && { type: 'text' })}
      {...attributes}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      data-testid={testId}
    />
  );
}

/**
 * A labelled one-line input with its help and its errors (listed under it with the id
 * `<testId>-error`). `numeric` asks a phone for its number pad; the text is still checked by the form.
 * `required` marks the label; every other attribute (type, limits, autocomplete) goes to the input.
 */
export function TextField({
  label,
  testId,
  errors,
  help,
  required,
  numeric,
  ...input
}: Parameters<typeof TextInput>[0] & {
  label: string;
  errors?: string[] | undefined;
  help?: ReactNode;
  numeric?: boolean;
}) {
  const errorId = `${testId}-error`;
  return (
    <label className="field">
      <span className="field-label">
        {label}
        {required && (
          <>
            {' '}
            <span className="required">*</span>
          </>
        )}
      </span>
      <TextInput inputMode={numeric ? 'numeric' : undefined} {...input} testId={testId} {...describedBy(errors, errorId)} />
      {help && <span className="field-help">{help}</span>}
      <FieldErrors id={errorId} messages={errors} />
    </label>
  );
}

/**
 * A checkbox and what it says (`children`), clickable as one: a `check-row` in a row of choices,
 * `inline` for a form's field on a line of its own.
 */
export function CheckField({
  checked,
  onChange,
  testId,
  inline = false,
  children,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  testId: string;
  inline?: boolean;
  children: ReactNode;
}) {
  return (
    <label className={inline ? 'field field-inline' : 'check-row'}>
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} data-testid={testId} />
      {children}
    </label>
  );
}

/**
 * A dialog form's dismiss and submit buttons; the submit says `busyLabel` while the form is out.
 * The dismiss button reads "Cancel" unless `closeLabel` says otherwise, and is left out without
 * `onClose`; `danger` makes the submit the solid red of an action that cannot be undone.
 */
export function DialogActions({
  label,
  busyLabel,
  busy,
  testId,
  onClose,
  closeLabel = 'Cancel',
  danger = false,
}: {
  label: string;
  busyLabel: string;
  busy: boolean;
  testId: string;
  onClose?: () => void;
  closeLabel?: string;
  danger?: boolean;
}) {
  return (
    <div className="dialog-actions">
      {onClose && (
        <button type="button" className="button" onClick={onClose}>
          {closeLabel}
        </button>
      )}
      <button
        type="submit"
        className={`button ${danger ? 'button-danger-solid' : 'button-primary'}`}
        disabled={busy}
        data-testid={testId}
      >
        {busy ? busyLabel : label}
      </button>
    </div>
  );
}
