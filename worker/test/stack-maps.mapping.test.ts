import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build, stop } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StackMapper } from '../src/stack-maps.js';

const run = promisify(execFile);

/** A flow source whose throw is on line 4, bundled and run by real node processes. */
const SOURCE = `export function load(rows: number[]): number {
  const total = rows.reduce((a, b) => a + b, 0);
  if (total > 3) {
    throw new Error('too many rows: ' + total);
  }
  return total;
}
try {
  load([1, 2, 3]);
} catch (error) {
  console.log((error as Error).stack);
}
`;

describe('stack traces from a bundle, mapped to the flow source', () => {
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'outpost-stacks-'));
    mkdirSync(join(root, 'src', 'flows'), { recursive: true });
    writeFileSync(join(root, 'src', 'flows', 'load.ts'), SOURCE);
    for (const [name, sourcemap] of [
      ['linked', 'linked'],
      ['inline', 'inline'],
    ] as const) {
      await build({
        entryPoints: [join(root, 'src', 'flows', 'load.ts')],
        outfile: join(root, name, 'flows', 'load.mjs'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        sourcemap,
        minify: true,
        logLevel: 'silent',
      });
    }
    await stop();
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const stackOf = async (file: string) => (await run(process.execPath, [file])).stdout;

  for (const kind of ['linked', 'inline']) {
    it(`maps ${kind === 'inline' ? 'an inline' : 'a linked'} source map's frames to the TypeScript line that threw`, async () => {
      const stack = await stackOf(join(root, kind, 'flows', 'load.mjs'));
      expect(stack).toMatch(/load\.mjs:1:\d+/);
      const mapped = new StackMapper(join(root, kind)).map(stack);
      expect(mapped).toContain('Error: too many rows: 6');
      expect(mapped).toMatch(/src\/flows\/load\.ts:4:\d+/);
      expect(mapped).not.toMatch(/load\.mjs/);
    });
  }

  it('maps frames of the same bundle run from another directory, as in a pod', async () => {
    const elsewhere = join(root, 'pod-copy');
    cpSync(join(root, 'linked'), elsewhere, { recursive: true });
    const mapped = new StackMapper(join(root, 'linked')).map(await stackOf(join(elsewhere, 'flows', 'load.mjs')));
    expect(mapped).toMatch(/src\/flows\/load\.ts:4:\d+/);
  });

  it('leaves lines without a stack frame, and frames outside the bundle, as they are', () => {
    const mapper = new StackMapper(join(root, 'linked'));
    expect(mapper.map('loaded /data/rows.mjs:1:2 rows')).toBe('loaded /data/rows.mjs:1:2 rows');
    const foreign = 'Error: x\n    at f (node:internal/timers:1:2)\n    at g (/usr/lib/node/other.mjs:3:4)';
    expect(mapper.map(foreign)).toBe(foreign);
  });
});
