/**
 * The pill of something that can be switched off: green "Active" while on, amber "Paused" while off,
 * or the two words `labels` gives (an automation is "Enabled" or "Disabled").
 */
export function OnOffPill({
  on,
  testId,
  labels = ['Active', 'Paused'],
}: {
  on: boolean;
  testId?: string;
  labels?: readonly [on: string, off: string];
}) {
  return (
    <span className={`pill ${on ? 'pill-active' : 'pill-paused'}`} data-testid={testId}>
      {on ? labels[0] : labels[1]}
    </span>
  );
}

/** The pill of a deployment, pool, queue, schedule or sensor that can be paused. */
export function PausedPill({ paused, testId }: { paused: boolean; testId?: string }) {
  return <OnOffPill on={!paused} testId={testId} />;
}

/** The words of an automation's or a channel's pill. */
export const ENABLED = ['Enabled', 'Disabled'] as const;
