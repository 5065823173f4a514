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
