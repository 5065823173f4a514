import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Every markdown file below `dir`, passing over dot-directories and the directories named in `skip`. */
export async function markdownFiles(dir: string, skip: ReadonlySet<string>): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (skip.has(entry.name) || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await markdownFiles(path, skip)));
    else if (entry.name.endsWith('.md')) found.push(path);
  }
  return found;
}
