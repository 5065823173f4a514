import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos } from './chaos.js';

/**
 * `npm run chaos [-- --minutes 30 --seed 7]`: the chaos suite for N minutes; writes its report to
 * test/chaos/results/<date>-<minutes>min.md and exits 1 when an invariant broke.
 */
const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, seed: { type: 'string' } },
});
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error(`--minutes takes a positive number, got "${values.minutes}"`);
  process.exit(2);
}
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const started = new Date();
const result = await runChaos({ minutes, seed, log: (line) => console.log(line) });
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${started.toISOString().slice(0, 10)}-${minutes}min.md`);
writeFileSync(file, result.report);
console.log(
  result.violations.length === 0 ? `every invariant held; report in ${file}` : `${result.violations.length} violation(s):`,
);
for (const v of result.violations) console.log(`  ${v}`);
process.exit(result.violations.length === 0 ? 0 : 1);
