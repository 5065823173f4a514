import { readFileSync } from 'node:fs';

function packageVersion(): string | null {
  try {
    // From src/ under tests and dist/ when built, the package's own package.json is one level up.
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof version === 'string' && version.length > 0 ? version : null;
  } catch {
    return null;
  }
}

/** This package's version (`worker/package.json`), as the worker reports it: heartbeat, user agent, metrics, each attempt's environment. */
export const WORKER_VERSION: string = packageVersion() ?? 'unknown';
