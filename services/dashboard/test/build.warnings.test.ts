import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const viteBin = join(createRequire(import.meta.url).resolve('vite/package.json'), '..', 'bin', 'vite.js');

// Every line a clean `vite build` prints; anything else (a chunk-size warning, an unbundled script,
// a directive notice, a timing hint) is something a newcomer would see and wonder about.
const expectedLine = [
  /^vite v[\d.]+ building client environment for production\.\.\.$/,
  /^transforming\.\.\.$/,
  /^✓ \d+ modules transformed\.$/,
  /^rendering chunks\.\.\.$/,
  /^computing gzip size\.\.\.$/,
  /^\S+\s+[\d,.]+ kB( │ gzip: +[\d,.]+ kB)?$/,
  /^✓ built in [\d.]+m?s$/,
];

const outDirs: string[] = [];
afterAll(async () => {
  await Promise.all(outDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function build(outDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [viteBin, 'build', '--outDir', outDir, '--emptyOutDir'], {
      cwd: root,
      // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
      env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('dashboard production build', () => {
  it('prints no warnings and keeps every chunk under 500 kB', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'outpost-dashboard-build-'));
    outDirs.push(outDir);
    const { code, output } = await build(outDir);
    expect(code, output).toBe(0);
    const lines = output
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    const unexpected = lines.filter((line) => !expectedLine.some((pattern) => pattern.test(line)));
    expect(unexpected).toEqual([]);
    // Vite names each chunk with its size; every chunk stays below the 500 kB warning limit.
    const oversized = lines.filter((line) => {
      const match = /^(\S+\.js)\s+([\d,.]+) kB/.exec(line);
      return match?.[1] && match[2] && Number(match[2].replace(/,/g, '')) > 500;
    });
    expect(oversized).toEqual([]);
  }, 120_000);
});
