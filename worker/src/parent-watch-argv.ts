import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** Node options that load the watchdog killing a flow process whose worker died (see parent-watch.ts). */
export function parentWatchExecArgv(): string[] {
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('@outpost/worker/parent-watch')).href];
}
