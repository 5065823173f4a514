import type { FormEvent, ReactNode } from 'react';
import type { ApiFailure } from '../api/client.js';
import type { NewPassword } from '../hooks/use-new-password.js';
import { TextField } from './form-field.js';

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
  const input = { type: 'password', autoComplete: 'new-password', maxLength: 256 } as const;
  return (
    <>
      <TextField label="New password" {...input} value={password} onChange={onPassword} testId={`${testId}-password`} />
      <TextField label="Repeat it" {...input} value={repeat} onChange={onRepeat} testId={`${testId}-repeat`} />
    </>
  );
}

/**
 * What is wrong with a new password typed twice, as the sentence to show, or null. `required` false
 * lets both fields stay empty (the account keeps its password).
 */
export function newPasswordProblem(password: string, repeat: string, required = true): string | null {
  if (required && password.length < 1) return 'Choose a password.';
  if (password !== repeat) return 'The two passwords differ.';
  return null;
}

/** The API's refusal of the password itself (too short, too common…), when that is why it failed. */
export function passwordRefusal(failure: ApiFailure): string | undefined {
  if (failure.kind !== 'http_error') return undefined;
  return failure.problem?.errors?.find((issue) => issue.path === 'body.password')?.message;
}

/**
 * The form of a page that chooses a new password: `intro`, the two fields, the error and the submit
 * button (`label`, `busyLabel` while the call is out). Test ids: `testId` on the form, and it with
 * `-password`, `-repeat`, `-error` and `-submit`.
 */
export function NewPasswordForm({
  testId,
  intro,
  state,
  label,
  busyLabel,
  onSubmit,
}: {
  testId: string;
  intro?: ReactNode;
  state: NewPassword;
  label: string;
  busyLabel: string;
  onSubmit: (e: FormEvent) => Promise<void>;
}) {
  return (
    <form className="form" onSubmit={(e) => void onSubmit(e)} data-testid={testId}>
      {intro}
      <NewPasswordFields
        password={state.password}
        repeat={state.repeat}
        onPassword={state.setPassword}
        onRepeat={state.setRepeat}
        testId={testId}
      />
      {state.error && (
        <div className="notice notice-error" role="alert" data-testid={`${testId}-error`}>
          {state.error}
        </div>
      )}
      <button type="submit" className="button button-primary" disabled={state.busy} data-testid={`${testId}-submit`}>
        {state.busy ? busyLabel : label}
      </button>
    </form>
  );
}
