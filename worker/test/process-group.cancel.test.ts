import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowProcess } from '../src/executors/flow-process.js';
import { isProcessRunning, killGroup, liveGroupMembers } from '../src/process-group.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { waitFor } from './support/wait.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/spawn-tree.mjs', import.meta.url));

interface Tree {
  proc: FlowProcess;
  lines: string[];
  pid: number;
  grandchild: number;
}

const started: FlowProcess[] = [];

async function startTree(...args: string[]): Promise<Tree> {
  const lines: string[] = [];
  const proc = await FlowProcess.start({
    script: SCRIPT,
    args,
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? '' },
    onLine: (_stream, line) => lines.push(line),
    onMessage: () => {},
  });
  started.push(proc);
  const first = await waitFor(() => lines.find((l) => l.startsWith('{')), 10_000, 'the tree to report its pids');
  const { pid, grandchild } = JSON.parse(first) as { pid: number; grandchild: number };
  return { proc, lines, pid, grandchild };
}

afterEach(async () => {
  for (const proc of started.splice(0)) {
    await killGroup(proc.pid);
    await proc.exited;
  }
  await expectNoLiveChildren();
});

describe('flow process groups', () => {
  it('runs the flow process as the leader of its own process group', async () => {
    const tree = await startTree();
    expect(tree.pid).toBe(tree.proc.pid);
    expect(liveGroupMembers(tree.pid).sort()).toEqual([tree.pid, tree.grandchild].sort());
    expect(liveGroupMembers(process.pid)).not.toContain(tree.pid);
  });

  it('cancels cooperatively, then SIGTERMs and SIGKILLs the whole group so no process of it survives', async () => {
    const tree = await startTree('--stubborn');
    const began = Date.now();
    await tree.proc.stop(300, { reason: 'cancelled by user', waitMs: 200 });
    expect(isProcessRunning(tree.pid)).toBe(false);
    expect(isProcessRunning(tree.grandchild)).toBe(false);
    expect(liveGroupMembers(tree.pid)).toEqual([]);
    expect(tree.lines).toContain('cancel received: cancelled by user');
    expect(tree.lines).toContain('ignoring SIGTERM');
    // Neither the notice nor the grace was skipped: a stubborn group only dies to SIGKILL after both.
    expect(Date.now() - began).toBeGreaterThanOrEqual(500);
    const exit = await tree.proc.exited;
    expect(exit.signal).toBe('SIGKILL');
  });

  it('stops a cooperative group with SIGTERM without waiting for the full grace', async () => {
    const tree = await startTree();
    const began = Date.now();
    await tree.proc.stop(10_000);
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(isProcessRunning(tree.grandchild)).toBe(false);
    expect((await tree.proc.exited).signal).toBe('SIGTERM');
  });

  it('kills the whole group at once when the run is lost', async () => {
    const tree = await startTree('--stubborn');
    await tree.proc.kill();
    expect(isProcessRunning(tree.pid)).toBe(false);
    expect(isProcessRunning(tree.grandchild)).toBe(false);
  });

  it('terminates processes a finished flow process left behind in its group', async () => {
    const tree = await startTree('--exit');
    expect((await tree.proc.exited).code).toBe(0);
    expect(isProcessRunning(tree.grandchild)).toBe(true);
    await tree.proc.reap(1_000);
    expect(isProcessRunning(tree.grandchild)).toBe(false);
  });
});
