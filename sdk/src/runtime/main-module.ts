import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function realpath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/**
 * True when the module at `importMetaUrl` is the script the process was started with
 * (`node flows/hello.js`, `npx tsx flows/hello.ts`), so a flow file can run itself:
 * `if (isMainModule(import.meta.url)) await hello();`. False when imported — in particular when the
 * worker's runner loads the module to run a deployment.
 */
export function isMainModule(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry || !importMetaUrl.startsWith('file:')) return false;
  const modulePath = realpath(fileURLToPath(importMetaUrl));
  const entryPath = realpath(path.resolve(entry));
  if (modulePath === entryPath) return true;
  // `node flows/hello` resolves the extension itself; argv keeps what was typed.
  const extension = path.extname(modulePath);
  return path.extname(entryPath) === '' && extension !== '' && modulePath.slice(0, -extension.length) === entryPath;
}
