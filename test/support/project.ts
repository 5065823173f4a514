import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { repoRoot } from './processes.js';

/**
 * An Outpost project in `dir` as a user has one: an ESM package.json, the workspace's node_modules
 * linked in (so `@outpost/sdk` resolves as if installed), and `files` by path relative to `dir`.
 */
export async function writeProject(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir').catch(() => undefined);
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}
