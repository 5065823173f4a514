import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { renderStatesDoc, STATES_DOC_PATH } from '../src/orchestration/states-doc.js';

it('the committed states page is the one the matrix writes (run `npm run docs:states` after changing it)', () => {
  const committed = readFileSync(new URL(`../../../${STATES_DOC_PATH}`, import.meta.url), 'utf8');
  expect(committed).toBe(renderStatesDoc());
});

it('the states page has a row for every allowed transition and every state', () => {
  const page = renderStatesDoc();
  expect(page).toContain('| `CANCELLING` | `CANCELLED` | worker, run, system |');
  expect(page).toContain('| `PAUSED` | Paused | waiting |');
  expect(page).not.toContain('| `COMPLETED` | `RUNNING` |');
});
