import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** The file behind `@outpost/worker/results/register`, as a URL `node --import` takes. */
export function registerModuleUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('@outpost/worker/results/register')).href;
}

/**
 * Node options for flow processes: the runtime knows `file:` result storage by itself; for `s3:` the
 * worker's S3 module is loaded first so the scheme is registered before any task runs.
 */
export function resultStorageExecArgv(resultStorage: string): string[] {
  return resultStorage.startsWith('s3://') ? ['--import', registerModuleUrl()] : [];
}
