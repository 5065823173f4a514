import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closest } from '../src/suggest.js';
import { CLI, outpost } from './cli.support.js';

let bin: string;

beforeAll(async () => {
  // `outpost` on PATH, as npm links it, for the scripts to call.
  bin = await mkdtemp(join(tmpdir(), 'outpost-completion-'));
  await writeFile(join(bin, 'outpost'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  await chmod(join(bin, 'outpost'), 0o755);
});
afterAll(async () => {
  await rm(bin, { recursive: true, force: true });
});

/** Completes `line` (the cursor at its end) in a real bash with the script `outpost completion bash` printed. */
async function bashComplete(line: string): Promise<string[]> {
  const script = (await outpost(['completion', 'bash'])).stdout;
  const words = line.split(' ');
  const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _outpost; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--norc', '-c', program], {
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', () => resolve(out.split('\n').filter(Boolean)));
  });
}

describe('shell completion', () => {
  it('completes command words, then a command’s options, in bash', async () => {
    expect(await bashComplete('outpost ru')).toEqual(['run', 'runs']);
    expect(await bashComplete('outpost runs l')).toEqual(['logs', 'ls']);
    expect(await bashComplete('outpost --api-url http://127.0.0.1:1 runs logs calm-otter --f')).toEqual(['--follow']);
    expect(await bashComplete('outpost runs logs calm-otter --task train --a')).toEqual(['--attempt', '--api-url', '--api-key']);
  });

  it('prints a script for zsh and fish that asks the CLI, and refuses another shell in one line', async () => {
    const zsh = await outpost(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef outpost\n/);
    expect(zsh.stdout).toContain('compdef _outpost outpost');
    const fish = await outpost(['completion', 'fish']);
    expect(fish.stdout).toContain("complete -c outpost -f -a '(__outpost_complete)'");
    const tcsh = await outpost(['completion', 'tcsh']);
    expect(tcsh.code).toBe(2);
    expect(tcsh.stderr).toBe('error: no completion for shell "tcsh"\n  shells: bash, zsh, fish\n');
  });
});

describe('did you mean', () => {
  it('names the closest command, subcommand or option, and says nothing when none is close', async () => {
    const command = await outpost(['dpeloy']);
    expect(command.code).toBe(2);
    expect(command.stderr.split('\n')[0]).toBe('error: unknown command: dpeloy (did you mean `outpost deploy`?)');
    const sub = await outpost(['runs', 'lss']);
    expect(sub.stderr.split('\n')[0]).toBe('error: unknown command: outpost runs lss (did you mean `outpost runs ls`?)');
    const option = await outpost(['runs', 'logs', 'calm-otter', '--folow']);
    expect(option.code).toBe(2);
    expect(option.stderr).toBe("error: Unknown option '--folow' (did you mean --follow?)\n  see --help\n");
    const far = await outpost(['frobnicate']);
    expect(far.stderr.split('\n')[0]).toBe('error: unknown command: frobnicate');
  });

  it('prefers a word of the same length among equally close ones', () => {
    expect(closest('runz', ['run', 'runs'])).toBe('runs');
    expect(closest('rn', ['run', 'runs'])).toBe('run');
    expect(closest('xyz', ['run', 'runs'])).toBeNull();
  });
});
