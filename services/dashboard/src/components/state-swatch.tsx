import { DEFAULT_STATE_NAME, STATE_MEANING, type StateType } from '@outpost/sdk/contracts';

/** A state's colour in a legend, chip or list; the colour is the stylesheet's `state-bg-*` class. */
export function StateSwatch({ state }: { state: StateType }) {
  return <span className={`legend-swatch state-bg-${state.toLowerCase()}`} aria-hidden="true" />;
}

/** What the runs legend says of a state on hover: its name and what a run in it is doing, as docs/states.md does. */
export function stateLegendTitle(state: StateType): string {
  return `${DEFAULT_STATE_NAME[state]}: ${STATE_MEANING[state]}`;
}
