import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const require = createRequire(import.meta.url);

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** This package's directory (the one holding `bin/` and `dist/`). */
export const CLI_DIR = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]$/, '');

/** The directory of the `@outpost/sdk` this CLI runs with, symlinks resolved. */
export function sdkDir(): string {
  return realpathSync(dirname(require.resolve('@outpost/sdk/package.json')));
}

export function cliVersion(): string {
  return readPackage(CLI_DIR).version ?? 'unknown';
}

export function sdkPackage(): PackageJson {
  return readPackage(sdkDir());
}

/**
 * The root of the Outpost repository this CLI runs from, or null when it was installed from the
 * npm registry. A checkout is where `@outpost/sdk` lives outside any `node_modules`: a new project
 * then links to it (`file:`), since the packages are not published from there.
 */
export function outpostCheckout(): string | null {
  const sdk = sdkDir();
  if (sdk.split(sep).includes('node_modules')) return null;
  const root = dirname(sdk);
  try {
    const pkg = readPackage(root) as PackageJson & { workspaces?: unknown };
    return pkg.name === 'outpost' && Array.isArray(pkg.workspaces) ? root : null;
  } catch {
    return null;
  }
}

/** A runnable example project shipped with the SDK (`hello`, `ml-pipeline`). */
export function exampleDir(name: string): string {
  return join(sdkDir(), 'examples', name);
}
