import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Python client's file name: `from outpost_pipes import open_pipes`. */
export const PYTHON_CLIENT_FILE = 'outpost_pipes.py';

/**
 * Where a bundle whose code launches Pipes processes carries the Python client, relative to the
 * unpacked bundle (`OUTPOST_BUNDLE_DIR`). A dot directory, so no `files` pattern of the project's
 * matches it by accident.
 */
export const BUNDLE_PYTHON_DIR = '.outpost/python';

/**
 * The directory holding the Python client for a process `pipes.run` launches: the copy the bundle
 * carries when the run executes a deployed bundle, else the SDK package's own `python/` directory
 * (a flow run from source, a test, a plain script). Null when neither exists.
 */
export function pythonClientDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates: string[] = [];
  const bundleDir = env.OUTPOST_BUNDLE_DIR;
  if (bundleDir) candidates.push(path.join(bundleDir, ...BUNDLE_PYTHON_DIR.split('/')));
  // From dist/pipes/ or src/pipes/ of the SDK package. In a bundle this points somewhere beside it,
  // where no client is found, and the bundle's own copy above is used.
  candidates.push(fileURLToPath(new URL('../../python', import.meta.url)));
  return candidates.find((dir) => existsSync(path.join(dir, PYTHON_CLIENT_FILE))) ?? null;
}

/** `PYTHONPATH` with the client's directory added last: a copy of the script's own, or one the caller put on the path, wins. */
export function withPythonClient(pythonPath: string | undefined, clientDir: string | null): string | undefined {
  if (!clientDir) return pythonPath;
  const entries = (pythonPath ?? '').split(path.delimiter).filter((entry) => entry !== '');
  if (entries.includes(clientDir)) return pythonPath;
  return [...entries, clientDir].join(path.delimiter);
}
