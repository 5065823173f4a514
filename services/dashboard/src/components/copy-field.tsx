import { useCopy } from '../hooks/use-copy.js';

/**
 * A value to copy out of the page: selected for a manual copy when the clipboard refuses. With `done`,
 * a quiet Done button follows the copy button, for a value shown only once.
 */
export function CopyField({
  value,
  label,
  what,
  testId,
  copyTestId,
  copyLabel = 'Copy',
  done,
}: {
  value: string;
  label: string;
  /** What is copied, as the copy button and the fallback's sentence name it. */
  what: string;
  testId: string;
  copyTestId: string;
  /** The copy button's visible text. @default "Copy" */
  copyLabel?: string;
  /** What Done does, and its test id. */
  done?: { onClick: () => void; testId: string };
}) {
  const { copied, copy, field } = useCopy(value);
  return (
    <>
      <div className="created-key-row">
        <input
          ref={field}
          readOnly
          value={value}
          className="mono"
          aria-label={label}
          onFocus={(e) => e.target.select()}
          data-testid={testId}
        />
        <button type="button" className="button" onClick={() => void copy()} data-testid={copyTestId}>
          {copied === 'yes' ? 'Copied' : copyLabel}
          <span className="visually-hidden"> the {what}</span>
        </button>
        {done && (
          <button type="button" className="button button-quiet" onClick={done.onClick} data-testid={done.testId}>
            Done
          </button>
        )}
      </div>
      {copied === 'failed' && <span className="muted small">Copying was blocked; the {what} is selected, press Ctrl+C.</span>}
    </>
  );
}
