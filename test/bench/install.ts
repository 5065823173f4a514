import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFrom, packCurrentRelease, startLocalRegistry } from '../support/local-registry.js';
import { type Row, row } from './support/row.js';

/**
 * Installing Outpost as a user does, from an npm registry: this checkout's four packages packed and
 * published to a local Verdaccio (127.0.0.1, no uplinks), then `npm install` into an empty directory
 * with a fresh HOME and an empty npm cache each time, so every tarball is downloaded and unpacked.
 * Seconds (median of 3) and the bytes of `node_modules` for what the README's Install section
 * installs: `@outpost/cli @outpost/sdk` in a project, `@outpost/worker` alone on a worker's machine,
 * `@outpost/server` alone for a control plane. Baseline, measured in the same run from the same
 * registry: `npm install typescript` alone, one package most TypeScript projects already install.
 */
export const timeoutSeconds = 900;

const SAMPLES = 3;

const CASES: { name: string; specs: string[] }[] = [
  { name: 'npm install @outpost/cli @outpost/sdk', specs: ['@outpost/cli', '@outpost/sdk'] },
  { name: 'npm install @outpost/worker', specs: ['@outpost/worker'] },
  { name: 'npm install @outpost/server', specs: ['@outpost/server'] },
];
const BASELINE = { name: 'npm install typescript', specs: ['typescript'] };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export async function run(): Promise<Row[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'outpost-bench-install-'));
  const registry = await startLocalRegistry();
  try {
    const tarballs = await packCurrentRelease(join(scratch, 'tarballs'));
    for (const name of ['@outpost/sdk', '@outpost/worker', '@outpost/server', '@outpost/cli']) {
      const tarball = tarballs[name];
      if (!tarball) throw new Error(`packing the release gave no ${name}`);
      await registry.publish(tarball);
    }
    const measured = new Map<string, { seconds: number; bytes: number }>();
    let n = 0;
    // Round-robin, so a slow spell of the shared machine falls on every case alike.
    const samples = new Map<string, { seconds: number[]; bytes: number[] }>();
    for (let i = 0; i < SAMPLES; i++) {
      for (const { name, specs } of [BASELINE, ...CASES]) {
        n++;
        const dir = join(scratch, `project-${n}`);
        const result = await installFrom(registry, dir, specs, join(scratch, `home-${n}`));
        const entry = samples.get(name) ?? { seconds: [], bytes: [] };
        entry.seconds.push(result.seconds);
        entry.bytes.push(result.bytes);
        samples.set(name, entry);
        await rm(dir, { recursive: true, force: true });
        await rm(join(scratch, `home-${n}`), { recursive: true, force: true });
      }
    }
    for (const [name, entry] of samples) measured.set(name, { seconds: median(entry.seconds), bytes: median(entry.bytes) });
    const base = measured.get(BASELINE.name)!;
    const note = `baseline: ${BASELINE.name} from the same registry, fresh cache`;
    const rows: Row[] = [];
    for (const { name } of CASES) {
      const m = measured.get(name)!;
      rows.push(row(`${name}: seconds (median of ${SAMPLES})`, m.seconds, 's', base.seconds, note));
      rows.push(row(`${name}: node_modules`, m.bytes / 1e6, 'MB', base.bytes / 1e6, note));
    }
    return rows;
  } finally {
    await registry.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}
