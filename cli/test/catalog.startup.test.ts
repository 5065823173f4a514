import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { outpost } from './cli.support.js';

const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(CLI_DIR, 'dist');

interface Catalog {
  modules: Record<string, unknown>;
  commands: { name: string; module: string; export: string; options?: unknown; positionals?: unknown; summary: string }[];
}

describe('the command catalog', () => {
  test('lists every command, in help order, with the options and arguments its module defines', async () => {
    const catalog = JSON.parse(readFileSync(join(DIST, 'commands/catalog.json'), 'utf8')) as Catalog;
    const { COMMANDS } = (await import(join(DIST, 'commands/index.js'))) as {
      COMMANDS: { name: string; run: unknown }[];
    };
    expect(catalog.commands.map((c) => c.name)).toEqual(COMMANDS.map((c) => c.name));
    for (const entry of catalog.commands) {
      const module = (await import(join(DIST, 'commands', entry.module))) as Record<string, { run: unknown }>;
      const command = module[entry.export];
      expect(command, entry.name).toBe(COMMANDS.find((c) => c.name === entry.name));
      const { run: _run, ...info } = command as { run: unknown };
      const { module: _m, export: _e, ...described } = entry;
      expect(described).toEqual(JSON.parse(JSON.stringify(info)));
    }
  });
});

describe('a dist/ whose modules changed after the catalog was written', () => {
  let copy: string;
  beforeAll(() => {
    // Inside cli/, so the copy resolves the same packages.
    copy = mkdtempSync(join(CLI_DIR, '.catalog-test-'));
    cpSync(join(CLI_DIR, 'bin'), join(copy, 'bin'), { recursive: true });
    cpSync(DIST, join(copy, 'dist'), { recursive: true });
    cpSync(join(CLI_DIR, 'package.json'), join(copy, 'package.json'));
    // What a rebuild by tsc alone leaves: a module whose command says something the catalog does not.
    const runs = join(copy, 'dist/commands/runs.js');
    writeFileSync(runs, readFileSync(runs, 'utf8').replace('List flow runs, newest first', 'List the runs, as rebuilt'));
  });
  afterAll(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  test('ignores the catalog and imports every command, so help shows what the modules now say', async () => {
    const bin = join(copy, 'bin/outpost.js');
    const help = await runBin(bin, ['runs', 'ls', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('List the runs, as rebuilt');
    const root = await runBin(bin, ['--help']);
    expect(root.stdout).toContain('List the runs, as rebuilt');
    expect(root.stdout).toBe(
      (await outpost(['--help'])).stdout.replace('List flow runs, newest first', 'List the runs, as rebuilt'),
    );
  });
});

function runBin(bin: string, args: string[]) {
  return new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}
