import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parentWatchExecArgv } from '../src/parent-watch-argv.js';
import { isProcessRunning } from '../src/process-group.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { waitFor } from './support/wait.js';

const PARENT = fileURLToPath(new URL('./fixtures/orphan-parent.mjs', import.meta.url));

describe('a flow process whose worker dies', () => {
  it('is killed even while its event loop is blocked, so it cannot finish alongside the retry', async () => {
    const watch = parentWatchExecArgv()[1]!;
    const parent = spawn(process.execPath, [PARENT, watch], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const pid = Number(await waitFor(() => out.trim(), 10_000, 'the flow stand-in to start'));
    expect(isProcessRunning(pid)).toBe(true);
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    await waitFor(() => !isProcessRunning(pid), 5_000, 'the orphaned, busy flow process to be killed');
    await expectNoLiveChildren();
  });
});
