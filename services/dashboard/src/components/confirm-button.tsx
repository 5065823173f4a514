import { type ReactNode, useState } from 'react';

/** The second question of a destructive action: "Keep", or "`label` now" (test id `testId` with `-confirm`). */
function KeepOrConfirm({
  label,
  testId,
  onKeep,
  onConfirm,
}: {
  label: string;
  testId: string;
  onKeep: () => void;
  onConfirm: () => void;
}) {
  return (
    <>
      <button type="button" className="button button-quiet" onClick={onKeep}>
        Keep
      </button>
      <button type="button" className="button button-danger-solid" onClick={onConfirm} data-testid={`${testId}-confirm`}>
        {label} now
      </button>
    </>
  );
}

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
      <KeepOrConfirm label={label} testId={testId} onKeep={onKeep} onConfirm={onConfirm} />
    </span>
  );
}

/**
 * "Turn off" for a setting that is on, asked twice in place: the second time it says what turning it
 * off does (`effect`, test id `effectTestId`) beside "Keep" and "Turn off now". It stands in the
 * caller's row of actions.
 */
export function ConfirmTurnOff({
  testId,
  effect,
  effectTestId,
  onConfirm,
}: {
  testId: string;
  effect: ReactNode;
  effectTestId?: string;
  onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="button button-danger" onClick={() => setAsking(true)} data-testid={testId}>
        Turn off
      </button>
    );
  }
  return (
    <>
      <span className="muted small" data-testid={effectTestId}>
        {effect}
      </span>
      <KeepOrConfirm
        label="Turn off"
        testId={testId}
        onKeep={() => setAsking(false)}
        onConfirm={() => {
          setAsking(false);
          onConfirm();
        }}
      />
    </>
  );
}
