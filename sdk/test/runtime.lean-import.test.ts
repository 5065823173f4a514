import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOY_BUILD_OPTIONS } from '../src/bundle/build.js';

/*
 * What importing a deployed flow bundle costs every flow process: the hello example, bundled as
 * `outpost deploy` bundles it, with this SDK's sources in place of the built package.
 */

const run = promisify(execFile);
const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const helloDir = join(sdkDir, 'examples', 'hello');

/** The hello bundle was 1,035,429 bytes when this was written; the budget is about 15% above that. */
const BUNDLE_SIZE_BUDGET = 1_190_000;

/**
 * Reads of a missing `_zod` property while a bundle is imported. zod makes one such read for each
 * schema and check it constructs, so this counts the schemas an import builds: 2,695 for the hello
 * bundle when the runtime built its protocol and contract schemas at import, 76 now, all for the
 * example's own definitions (its parameters, and the options `flow()` and `task()` check).
 */
const HELLO_ZOD_READS_BUDGET = 150;

/** Counts the reads, then imports the bundle named by its argument and prints the count. */
const COUNTING_IMPORT = `
let reads = 0;
Object.defineProperty(Object.prototype, '_zod', { get() { reads += 1; return undefined; }, configurable: true });
await import(process.argv[2]);
process.stdout.write(JSON.stringify({ reads }));
`;

/** Imports the bundle named by its argument, then counts the reads while its flow prepares a run (what a run's start loads). */
const COUNTING_PREPARE = `
let reads = 0;
await import(process.argv[2]);
const [registered] = globalThis[Symbol.for('outpost.flows')].values();
Object.defineProperty(Object.prototype, '_zod', { get() { reads += 1; return undefined; }, configurable: true });
await registered.prepare();
process.stdout.write(JSON.stringify({ reads }));
`;

/**
 * The schemas a run's start builds (`prepareRun`, which a warm process runs ahead and every other
 * runs as its run starts) for the hello bundle: 2,383 reads when the runtime checked the worker's
 * messages with the whole protocol's module and its reporter imported the asset, event and wait
 * contracts; 228 now that it builds only the worker's messages and the state proposal's answer.
 */
const PREPARE_ZOD_READS_BUDGET = 400;

let dir = '';

/** Bundles `entry` as deploy bundles a flow module, with this SDK's sources; answers its path and size. */
async function bundle(entry: string, out: string): Promise<{ path: string; bytes: number }> {
  const path = join(dir, out);
  const result = await build({
    ...DEPLOY_BUILD_OPTIONS,
    absWorkingDir: helloDir,
    entryPoints: [entry],
    outfile: path,
    alias: { '@outpost/sdk': join(sdkDir, 'src', 'index.ts') },
    write: true,
  });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error(`esbuild reported no output for ${entry}`);
  return { path, bytes: output.bytes };
}

/** Runs `script` on the bundle at `path` in a fresh Node process and answers the reads it counted. */
async function zodReads(script: 'count.mjs' | 'count-prepare.mjs', path: string): Promise<number> {
  const { stdout } = await run(process.execPath, [join(dir, script), path], { cwd: dir, env: { PATH: process.env.PATH } });
  return (JSON.parse(stdout) as { reads: number }).reads;
}

/** The reads counted while the bundle at `path` is imported. */
const zodReadsImporting = (path: string) => zodReads('count.mjs', path);

let hello = { path: '', bytes: 0 };
let wholeSdk = { path: '', bytes: 0 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-lean-import-'));
  await writeFile(join(dir, 'count.mjs'), COUNTING_IMPORT);
  await writeFile(join(dir, 'count-prepare.mjs'), COUNTING_PREPARE);
  // Every export of the SDK, so nothing the package index reaches is left out of the bundle.
  await writeFile(join(dir, 'whole-sdk.ts'), "export * from '@outpost/sdk';\n");
  hello = await bundle(join(helloDir, 'flows', 'hello.ts'), 'hello.mjs');
  wholeSdk = await bundle(join(dir, 'whole-sdk.ts'), 'whole-sdk.mjs');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('importing a flow bundle', () => {
  it('the deployed hello bundle stays under its size budget', () => {
    expect(hello.bytes).toBeGreaterThan(0);
    expect(hello.bytes).toBeLessThan(BUNDLE_SIZE_BUDGET);
  });

  it('importing a bundle of every export of the SDK builds no zod schema', async () => {
    expect(wholeSdk.bytes).toBeGreaterThan(0);
    expect(await zodReadsImporting(wholeSdk.path)).toBe(0);
  });

  it('importing the hello bundle builds only the schemas of its own definitions', async () => {
    const reads = await zodReadsImporting(hello.path);
    // Above zero: the count sees the example's own parameters being built.
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThan(HELLO_ZOD_READS_BUDGET);
  });

  it("a run's start builds the schemas of the worker's messages and of a state proposal's answer, not the whole protocol's", async () => {
    const reads = await zodReads('count-prepare.mjs', hello.path);
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThan(PREPARE_ZOD_READS_BUDGET);
  });
});
