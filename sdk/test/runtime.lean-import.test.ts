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

/** The hello bundle was 1,025,281 bytes when this was written; the budget is about 15% above that. */
const BUNDLE_SIZE_BUDGET = 1_180_000;

/**
 * Reads of a missing `_zod` property while the bundle is imported. zod makes one such read for each
 * schema and check it constructs, so this counts the schemas an import builds. Before the runtime
 * built its message and contract schemas on first use an import made 2,695; now 1,092, which are the
 * asset, sensor and partition definition schemas (still built at import) and the example's own
 * parameters. The budget leaves room for small changes, not for the runtime's schemas coming back.
 */
const ZOD_READS_BUDGET = 1_300;

/** Counts the reads, then imports the bundle named by its argument and prints the count. */
const COUNTING_IMPORT = `
let reads = 0;
Object.defineProperty(Object.prototype, '_zod', { get() { reads += 1; return undefined; }, configurable: true });
await import(process.argv[2]);
process.stdout.write(JSON.stringify({ reads }));
`;

let dir = '';
let bundlePath = '';
let bundleBytes = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-lean-import-'));
  bundlePath = join(dir, 'hello.mjs');
  const result = await build({
    ...DEPLOY_BUILD_OPTIONS,
    absWorkingDir: helloDir,
    entryPoints: [join(helloDir, 'flows', 'hello.ts')],
    outfile: bundlePath,
    alias: { '@outpost/sdk': join(sdkDir, 'src', 'index.ts') },
    write: true,
  });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error('esbuild reported no output for the hello flow');
  bundleBytes = output.bytes;
  await writeFile(join(dir, 'count.mjs'), COUNTING_IMPORT);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('importing the hello flow bundle', () => {
  it('the deployed hello bundle stays under its size budget', () => {
    expect(bundleBytes).toBeGreaterThan(0);
    expect(bundleBytes).toBeLessThan(BUNDLE_SIZE_BUDGET);
  });

  it('importing the bundle builds neither the runtime protocol schemas nor the contract schemas they use', async () => {
    const { stdout } = await run(process.execPath, [join(dir, 'count.mjs'), bundlePath], {
      cwd: dir,
      env: { PATH: process.env.PATH },
    });
    const { reads } = JSON.parse(stdout) as { reads: number };
    // Above zero: the counting works (the example's parameters alone build several schemas).
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThan(ZOD_READS_BUDGET);
  });
});
