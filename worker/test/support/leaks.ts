import { readdirSync, readFileSync } from 'node:fs';

/**
 * Processes this test process started that are still running (zombies excluded). Every flow
 * process group a test starts must be gone when the test ends.
 */
export function liveChildren(): number[] {
  if (process.platform !== 'linux') return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(ppid) === process.pid && state !== 'Z') found.push(Number(entry));
  }
  return found;
}

/**
 * Fails unless every child of this process has exited. A process that was just killed may take a
 * moment to leave the process table, so this waits up to two seconds before failing.
 */
export async function expectNoLiveChildren(): Promise<void> {
  const deadline = Date.now() + 2_000;
  let live = liveChildren();
  while (live.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    live = liveChildren();
  }
  if (live.length > 0) {
    const describe = live.map((pid) => {
      try {
        return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`;
      } catch {
        return String(pid);
      }
    });
    throw new Error(`processes left running: ${describe.join('; ')}`);
  }
}
