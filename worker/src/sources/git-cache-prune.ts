import { readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * The git cache grows by one worktree per commit and one node_modules per lockfile. The most
 * recently used ones are kept (use refreshes a marker's time); older ones are removed, except a
 * worktree a run of this process is using right now.
 */

/** Worktrees kept per worker. @default */
export const KEEP_TREES = 32;
/** Installed dependency sets kept per worker. @default */
export const KEEP_MODULES = 16;

const inUse = new Map<string, number>();

/** Marks a worktree as used by a run until the returned function is called. */
export function holdTree(tree: string): () => void {
  inUse.set(tree, (inUse.get(tree) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (inUse.get(tree) ?? 1) - 1;
    if (left <= 0) inUse.delete(tree);
    else inUse.set(tree, left);
  };
}

export async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}

async function byAge(dir: string, pick: (name: string) => boolean): Promise<Array<{ name: string; time: number }>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const entries: Array<{ name: string; time: number }> = [];
  for (const name of names.filter(pick)) {
    const info = await stat(join(dir, name)).catch(() => null);
    if (info) entries.push({ name, time: info.mtimeMs });
  }
  return entries.sort((a, b) => b.time - a.time);
}

/** Removes the least recently used worktrees and dependency sets beyond the limits. */
export async function pruneGitCache(root: string, keep = { trees: KEEP_TREES, modules: KEEP_MODULES }): Promise<void> {
  const trees = join(root, 'trees');
  const markers = await byAge(trees, (name) => name.endsWith('.ready'));
  for (const { name } of markers.slice(keep.trees)) {
    const tree = join(trees, name.slice(0, -'.ready'.length));
    if (inUse.has(tree)) continue;
    // The marker goes first: a half-removed tree without it is rebuilt, never used.
    await rm(join(trees, name), { force: true });
    await rm(tree, { recursive: true, force: true });
  }
  const modules = join(root, 'modules');
  for (const { name } of (await byAge(modules, (name) => !name.startsWith('.'))).slice(keep.modules)) {
    await rm(join(modules, name), { recursive: true, force: true });
  }
}
