import { useState } from 'react';
import type { ApiResult } from '../api/client.js';
import { newPasswordProblem } from '../components/new-password-fields.js';

/**
 * The state of a form that chooses a new password typed twice (set, reset, confirm an address):
 * the two fields, the one line of error and whether a call is out. `run` makes a call while busy;
 * `send` first checks the two fields (`required` false lets both stay empty) and makes none when they
 * are refused. Both give the call's result, `send` null when it made none.
 */
export function useNewPassword() {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async <T>(call: () => Promise<ApiResult<T>>): Promise<ApiResult<T>> => {
    setBusy(true);
    setError(null);
    const result = await call();
    setBusy(false);
    return result;
  };
  const send = async <T>(call: () => Promise<ApiResult<T>>, required = true): Promise<ApiResult<T> | null> => {
    const problem = newPasswordProblem(password, repeat, required);
    if (problem) {
      setError(problem);
      return null;
    }
    return run(call);
  };
  /** Empties the fields and the error, as a new link arrives. */
  const clear = () => {
    setPassword('');
    setRepeat('');
    setError(null);
  };
  return { password, repeat, setPassword, setRepeat, error, setError, busy, run, send, clear };
}

export type NewPassword = ReturnType<typeof useNewPassword>;
