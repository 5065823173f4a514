import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    // From src/ under tests and dist/ when built, the package's own package.json is one level up.
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof version === 'string' && version.length > 0 ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** This package's version (`sdk/package.json`), sent by the SDK's own calls as `outpost-version` (Node only). */
export const SDK_VERSION: string = packageVersion();
