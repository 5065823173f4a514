import type { State } from '@outpost/sdk/contracts';

/** A run's state: colour from the state type, text from the state name (Late, AwaitingRetry, Cached…). */
export function StateBadge({ state, testId = 'state-badge' }: { state: Pick<State, 'type' | 'name'>; testId?: string }) {
  const late = state.type === 'SCHEDULED' && state.name === 'Late';
  return (
    <span
      className={`badge state-${state.type.toLowerCase()}${late ? ' state-late' : ''}`}
      data-testid={testId}
      data-state={state.type}
      title={state.type}
    >
      {state.name}
    </span>
  );
}
