import { useState } from 'react';
import { type ApiResult, describeFailure } from '../api/client.js';
import type { FieldErrorMap } from '../components/form-field.js';
import { fieldErrorsByField } from '../lib/field-errors.js';

/**
 * A form's call to the API: `busy` while it is out, its failure's one line in `error` (cleared by
 * the next success), and `onOk` with the response only when it succeeded.
 */
export function useSubmit() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async <T>(call: () => Promise<ApiResult<T>>, onOk: (data: T) => void | Promise<void>) => {
    setBusy(true);
    const result = await call();
    setBusy(false);
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    setError(null);
    await onOk(result.data);
  };
  return { error, setError, busy, submit };
}

/**
 * A dialog form's call, whose errors belong under its fields: `check` shows the form's own findings
 * (and clears the last refusal), saying whether the form may be sent; `send` makes the call, and a
 * refusal's field errors go under their fields and its one line into `failure`.
 */
export function useFieldSubmit() {
  const [errors, setErrors] = useState<FieldErrorMap>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const check = (local: FieldErrorMap): boolean => {
    setErrors(local);
    setFailure(null);
    return Object.keys(local).length === 0;
  };
  const send = async <T>(call: () => Promise<ApiResult<T>>, onOk: (data: T) => void) => {
    setBusy(true);
    const result = await call();
    setBusy(false);
    if (!result.ok) {
      setErrors(fieldErrorsByField(result));
      setFailure(describeFailure(result));
      return;
    }
    onOk(result.data);
  };
  return { errors, failure, busy, check, send };
}
