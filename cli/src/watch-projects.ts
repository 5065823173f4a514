import { type FSWatcher, watch } from 'node:fs';
import { relative, sep } from 'node:path';

/** What a change in these never is: installed packages, build output, the local platform's state, git. */
const IGNORED = ['node_modules', 'dist', '.outpost', '.git'];

/** How long a project must be quiet after a change before it is redeployed (an editor saves in bursts). */
const SETTLE_MS = 300;

export interface ProjectWatch {
  close(): void;
}

/**
 * Watches each project directory and calls `redeploy` once its files have settled after a change.
 * A project redeploys one at a time: a change during a redeploy queues exactly one more after it.
 */
export function watchProjects(dirs: readonly string[], redeploy: (dir: string) => Promise<void>): ProjectWatch {
  const watchers: FSWatcher[] = [];
  for (const dir of dirs) {
    let timer: NodeJS.Timeout | null = null;
    let running: Promise<void> | null = null;
    let again = false;
    const run = () => {
      timer = null;
      if (running) {
        again = true;
        return;
      }
      running = redeploy(dir).finally(() => {
        running = null;
        if (again) {
          again = false;
          run();
        }
      });
    };
    const watcher = watch(dir, { recursive: true }, (_event, filename) => {
      if (filename && isIgnored(relative(dir, `${dir}${sep}${filename}`))) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(run, SETTLE_MS);
    });
    watchers.push(watcher);
  }
  return {
    close() {
      for (const w of watchers) w.close();
    },
  };
}

function isIgnored(path: string): boolean {
  const first = path.split(sep)[0] ?? '';
  return IGNORED.includes(first);
}
