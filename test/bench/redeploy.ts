import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli } from '../support/processes.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * What `outpost deploy` costs when nothing has changed since the last deploy: the hello example
 * (a copy, so the repository's own cache is left alone), deployed as a dry run by the real CLI in a
 * child process, which type-checks, builds and discovers the flows as a real deploy does. Three ways,
 * interleaved round by round: with the project's type-check cache in place (the check is skipped),
 * with it removed first (the full check), and with `--no-typecheck` (no check at all).
 */
export const timeoutSeconds = 240;

const ROUNDS = 5;

async function deployMs(project: string, args: string[], expect: string): Promise<number> {
  const started = performance.now();
  const r = await runCli(['deploy', '--dry-run', ...args], {}, project);
  const ms = performance.now() - started;
  if (r.code !== 0) throw new Error(`outpost deploy --dry-run ${args.join(' ')} exited ${r.code}:\n${r.output}`);
  if (expect && !r.output.includes(expect)) throw new Error(`expected "${expect}" in:\n${r.output}`);
  return ms;
}

export async function run(): Promise<Row[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'outpost-bench-redeploy-'));
  try {
    // Where the repository has it, relative to the base tsconfig.json it extends.
    const project = join(scratch, 'sdk/examples/hello');
    await cp(join(repoRoot, 'sdk/examples/hello'), project, { recursive: true, filter: (src) => !src.endsWith('.outpost') });
    await cp(join(repoRoot, 'tsconfig.base.json'), join(scratch, 'tsconfig.base.json'));
    await symlink(join(repoRoot, 'node_modules'), join(project, 'node_modules'), 'dir');
    const cache = join(project, '.outpost', 'typecheck.json');
    await deployMs(project, [], 'type-checking'); // warms the file system and writes the cache
    const skipped: number[] = [];
    const checked: number[] = [];
    const unchecked: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      skipped.push(await deployMs(project, [], 'type-check skipped'));
      await rm(cache);
      checked.push(await deployMs(project, [], 'type-checking'));
      unchecked.push(await deployMs(project, ['--no-typecheck'], ''));
    }
    const median = (values: number[]) => percentile(values, 50);
    return [
      row(
        'redeploy with nothing changed (dry run, hello example): wall, median of 5',
        median(skipped),
        'ms',
        median(checked),
        'baseline: the same deploy with no type-check cache, so the full check runs',
      ),
      row(
        'redeploy with nothing changed: wall against no type-check at all',
        median(skipped),
        'ms',
        median(unchecked),
        'baseline: the same deploy with --no-typecheck; the ratio is what verifying the cache costs',
      ),
    ];
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
