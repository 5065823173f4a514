import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/processes.js';
import { type Row, row } from './support/row.js';

/**
 * The three images `npm run images` builds, from nothing cached: each one's size against the base
 * it starts from (the node binary, its libraries and a user: the least an image running Node can
 * be), and each one's build time against assembling that base. Then `npm run images` again with
 * nothing changed, which leaves each image as it is, against the whole build. Needs root and
 * podman/buildah.
 */
export const timeoutSeconds = 900;

export const notes =
  'Images: whole builds (`npm run images -- --rebuild-bases --no-cache`), production dependencies from the machine’s npm cache. Baselines: the Node base image (size) and the time to assemble it from the machine’s files; for a repeat with nothing changed, the whole build.';

export async function run(): Promise<Row[]> {
  if (userInfo().uid !== 0) throw new Error('the images benchmark builds with podman as root — run npm run bench as root');
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-images-'));
  try {
    const file = join(dir, 'images.json');
    const images = (...args: string[]): number => {
      const started = performance.now();
      const built = spawnSync(process.execPath, [join(repoRoot, 'infra/docker/build-images.mjs'), ...args], {
        encoding: 'utf8',
      });
      if (built.status !== 0) throw new Error(`npm run images failed: ${built.stderr.trim()}`);
      return (performance.now() - started) / 1000;
    };
    const whole = images('--rebuild-bases', '--no-cache', '--json', file);
    const again = images();
    const summary = JSON.parse(await readFile(file, 'utf8')) as {
      bases: { seconds: number; nodeSizeMB: number };
      images: { image: string; sizeMB: number; buildSeconds: number }[];
    };
    const rows: Row[] = [];
    for (const image of summary.images) {
      const name = image.image.replace(/^localhost\/outpost\//, '').replace(/:.*$/, '');
      rows.push(row(`image ${name}: size`, image.sizeMB, 'MB', summary.bases.nodeSizeMB, 'the Node base image'));
      rows.push(row(`image ${name}: build`, image.buildSeconds, 's', summary.bases.seconds, 'assembling the three bases'));
    }
    rows.push(row('npm run images again, nothing changed: wall', again, 's', whole, 'the whole build of bases and images'));
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
