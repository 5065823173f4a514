// Writes docs/states.md from the state contract and the transition matrix (`npm run docs:states`).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderStatesDoc, STATES_DOC_PATH } from '../src/orchestration/states-doc.js';

const target = fileURLToPath(new URL(`../../../${STATES_DOC_PATH}`, import.meta.url));
writeFileSync(target, renderStatesDoc());
process.stdout.write(`wrote ${STATES_DOC_PATH}\n`);
