import type { FieldError } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { type ApiResult, describeFailure } from '../api/client.js';

/**
 * An automation typed as JSON, exactly the body the API takes: the API checks it and compiles its
 * CEL itself, so the form sends what was typed and shows each refused field with its position.
 */
export function AutomationJsonForm({
  initial,
  help,
  submitLabel,
  busyLabel,
  testIdPrefix,
  send,
  onDone,
}: {
  initial: string;
  help: React.ReactNode;
  submitLabel: string;
  busyLabel: string;
  /** `automation` gives `automation-json`, `automation-error`, `automation-field-error`. */
  testIdPrefix: string;
  send: (body: never) => Promise<ApiResult<unknown>>;
  onDone: (data: unknown) => Promise<void>;
}) {
  const [text, setText] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<FieldError[]>([]);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      setFields([]);
      setError(`Not JSON: ${(err as Error).message}`);
      return;
    }
    setBusy(true);
    const result = await send(body as never);
    setBusy(false);
    if (!result.ok) {
      const problem = result.kind === 'http_error' ? result.problem : undefined;
      setFields(problem?.errors ?? []);
      setError(problem ? (problem.detail ?? problem.title) : describeFailure(result));
      return;
    }
    setError(null);
    setFields([]);
    await onDone(result.data);
  };

  return (
    <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid={`${testIdPrefix}-form`}>
      <label className="field">
        <span className="field-label">Automation (JSON)</span>
        <textarea
          rows={14}
          spellCheck={false}
          className="mono"
          value={text}
          aria-invalid={error ? 'true' : undefined}
          onChange={(e) => setText(e.target.value)}
          data-testid={`${testIdPrefix}-json`}
        />
        <span className="field-help">{help}</span>
      </label>
      {error && (
        <div className="notice notice-error" role="alert" data-testid={`${testIdPrefix}-error`}>
          {error}
          {fields.length > 0 && (
            <ul>
              {fields.map((f) => (
                <li key={`${f.path}:${f.message}`} data-testid={`${testIdPrefix}-field-error`}>
                  <code>{f.path || '(body)'}</code>: {f.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy} data-testid={`${testIdPrefix}-submit`}>
          {busy ? busyLabel : submitLabel}
        </button>
      </div>
    </form>
  );
}
