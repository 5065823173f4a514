import {
  DEFAULT_STATE_NAME,
  HELD_STATES,
  STATE_MEANING,
  STATE_TRANSITIONS,
  StateType,
  TERMINAL_STATES,
  TRANSITION_ACTORS,
} from '@outpost/sdk/contracts';

/** Where the page lives, relative to the repository root. */
export const STATES_DOC_PATH = 'docs/states.md';

/** A table cell: a pipe would end the cell early. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

function kind(type: StateType): string {
  if (TERMINAL_STATES.includes(type)) return 'terminal';
  if (HELD_STATES.includes(type)) return 'held';
  return 'waiting';
}

/**
 * The page `docs/states.md`, written from the state contract and the transition matrix so that it
 * cannot drift from the rules: `npm run docs:states` writes it, and a test fails while it is stale.
 */
export function renderStatesDoc(): string {
  const states = StateType.options.map(
    (type) => `| \`${type}\` | ${DEFAULT_STATE_NAME[type]} | ${kind(type)} | ${cell(STATE_MEANING[type])} |`,
  );
  const transitions = STATE_TRANSITIONS.map(
    (t) => `| \`${t.from}\` | \`${t.to}\` | ${TRANSITION_ACTORS.filter((a) => t.by.includes(a)).join(', ')} | ${cell(t.when)} |`,
  );
  return [
    '# Run states',
    '',
    '<!-- Written by `npm run docs:states` from sdk/src/contracts (states.ts, state-transitions.ts); edit those, not this page. -->',
    '',
    'Every flow run is in one of these states. A state also has a name, which is the type’s default name',
    'unless a rule gives another (Late, AwaitingRetry, AwaitingConcurrencySlot, ConfigurationError).',
    '',
    `A **held** run (${HELD_STATES.join(', ')}) belongs to a worker: it fills a slot of every`,
    'concurrency limit it falls under and has a lease the worker renews. A **terminal** run is finished;',
    'only a user’s retry moves it again, as a new attempt.',
    '',
    '| State | Default name | Kind | Meaning |',
    '| --- | --- | --- | --- |',
    ...states,
    '',
    '## Allowed transitions',
    '',
    'Who may make each move: `worker` (a worker key, for a run it holds), `run` (the run’s own token),',
    '`user` (a person or API key) and `system` (a control-plane loop). Any move not listed is refused.',
    'An allowed move can still wait or be refused for its timing: a claim waits until the run is due,',
    'and a worker or run must name the attempt it holds.',
    '',
    '| From | To | By | When |',
    '| --- | --- | --- | --- |',
    ...transitions,
    '',
  ].join('\n');
}
