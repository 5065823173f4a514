import { readFileSync } from 'node:fs';

/**
 * The version of the package this code runs from: @outpost/api in a checkout, @outpost/server when
 * bundled into it (the same version), found as the nearest package.json above this file.
 */
function ownVersion(): string {
  for (let dir = new URL('.', import.meta.url), depth = 0; depth < 6; dir = new URL('..', dir), depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown; version?: unknown };
      if (typeof pkg.name === 'string' && pkg.name.startsWith('@outpost/') && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: look one directory up
    }
  }
  return '0.0.0';
}

/** This server's version, as `outpost-server-version` announces it. */
export const SERVER_VERSION: string = ownVersion();
