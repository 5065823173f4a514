import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI } from './cli.support.js';

const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));
const HOOK = fileURLToPath(new URL('./loaded-modules.hook.mjs', import.meta.url));

/** What a command line imported: every module URL the process loaded, and its exit code. */
function loadedBy(bin: string, args: string[]): { code: number | null; modules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-modules-'));
  const file = join(dir, 'loaded.txt');
  try {
    const child = spawnSync(process.execPath, ['--import', HOOK, bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, OUTPOST_TEST_LOADED_MODULES: file },
      encoding: 'utf8',
    });
    return { code: child.status, modules: readFileSync(file, 'utf8').split('\n').filter(Boolean) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Command implementations and the heavy packages they bring. */
function heavy(modules: string[]): string[] {
  return modules.filter(
    (url) =>
      /\/dist\/commands\/(?!catalog\.json)[^/]+$/.test(url) ||
      /\/node_modules\/(zod|typescript|esbuild|chrono-node|undici)\//.test(url) ||
      /\/sdk\/dist\/(contracts|client)\//.test(url),
  );
}

const HELP_LINES = [['--help'], ['deploy', '--help'], ['runs', 'ls', '--help'], ['runs', '--help'], ['__complete', 'runs', '']];

describe('starting outpost', () => {
  test.each(HELP_LINES)('outpost %s … imports no command implementation, zod, typescript or esbuild', (...args) => {
    const { code, modules } = loadedBy(CLI, args);
    expect(code).toBe(0);
    expect(modules.some((url) => url.endsWith('/dist/app.js'))).toBe(true);
    expect(heavy(modules)).toEqual([]);
  });

  test('a command that runs imports its own module, which the hook sees', () => {
    const { code, modules } = loadedBy(CLI, ['completion', 'bash']);
    expect(code).toBe(0);
    expect(modules.filter((url) => url.includes('/dist/commands/'))).toEqual([
      expect.stringMatching(/\/dist\/commands\/completion\.js$/),
    ]);
  });
});

describe('a copy of the CLI with new file times, as npm install or a build cache leaves it', () => {
  let copy: string;
  beforeAll(() => {
    // Inside cli/, so the copy resolves the same packages; cpSync gives every file a new mtime.
    copy = mkdtempSync(join(CLI_DIR, '.modules-test-'));
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(CLI_DIR, part), join(copy, part), { recursive: true });
  });
  afterAll(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  test('still trusts its catalog: --help imports no command implementation', () => {
    const { code, modules } = loadedBy(join(copy, 'bin/outpost.js'), ['--help']);
    expect(code).toBe(0);
    expect(heavy(modules)).toEqual([]);
  });
});
