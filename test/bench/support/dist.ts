import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../../support/processes.js';

export const DASHBOARD_DIST = join(repoRoot, 'services/dashboard/dist');

export interface DistFile {
  path: string;
  bytes: number;
}

/**
 * The built dashboard's files, split into what a first load fetches (index.html and what it
 * references: the entry script, its stylesheet, any modulepreload) and what pages load on demand
 * (each page's chunk, such as the lineage graph's with React Flow).
 */
export async function dashboardFiles(): Promise<{ firstLoad: DistFile[]; onDemand: DistFile[] }> {
  let html: string;
  try {
    html = await readFile(join(DASHBOARD_DIST, 'index.html'), 'utf8');
  } catch {
    throw new Error('the dashboard is not built: run `npm run build -w @outpost/dashboard` first');
  }
  const referenced = new Set([...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1] as string));
  const firstLoad: DistFile[] = [{ path: join(DASHBOARD_DIST, 'index.html'), bytes: Buffer.byteLength(html) }];
  const onDemand: DistFile[] = [];
  for (const name of await readdir(join(DASHBOARD_DIST, 'assets'))) {
    const path = join(DASHBOARD_DIST, 'assets', name);
    const file = { path, bytes: (await stat(path)).size };
    (referenced.has(`assets/${name}`) ? firstLoad : onDemand).push(file);
  }
  return { firstLoad, onDemand };
}
