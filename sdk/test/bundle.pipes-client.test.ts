import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type BuiltBundle, buildBundle } from '../src/bundle/index.js';
import { withPythonClient } from '../src/pipes/python-path.js';

const run = promisify(execFile);
const pipesProject = fileURLToPath(new URL('./fixtures/pipes-project', import.meta.url));
const plainProject = fileURLToPath(new URL('./fixtures/bundle-project', import.meta.url));
const sdkClient = fileURLToPath(new URL('../python/outpost_pipes.py', import.meta.url));
const temporaryDirs: string[] = [];

async function unpack(bundle: BuiltBundle): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-pipes-bundle-'));
  temporaryDirs.push(dir);
  for (const file of bundle.files) {
    await mkdir(dirname(join(dir, file.path)), { recursive: true });
    await writeFile(join(dir, file.path), file.bytes);
  }
  return dir;
}

/** Calls the bundle's `launch()` in a fresh Node process in `dir`, as a worker's child would run it. */
async function launchIn(dir: string, env: Record<string, string>): Promise<unknown> {
  const script =
    "const m = await import('./flows/launch.mjs'); try { console.log(JSON.stringify(await m.launch())); } catch (e) { console.log(JSON.stringify({ threw: String(e.message) })); }";
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null');
}

afterEach(async () => {
  await Promise.all(temporaryDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('the Python Pipes client in bundles', () => {
  it('ships with a bundle that includes the launcher, and a shipped script imports it from the unpacked bundle', async () => {
    const bundle = await buildBundle({ projectDir: pipesProject, entrypoints: ['flows/launch.ts'], files: ['scripts/*.py'] });
    expect(bundle.files.map((file) => file.path)).toEqual([
      '.outpost/python/outpost_pipes.py',
      'flows/launch.mjs',
      'flows/launch.mjs.map',
      'scripts/report.py',
    ]);
    const client = bundle.files.find((file) => file.path === '.outpost/python/outpost_pipes.py');
    expect(Buffer.from(client?.bytes ?? []).equals(await readFile(sdkClient))).toBe(true);

    const dir = await unpack(bundle);
    expect(await launchIn(dir, { OUTPOST_BUNDLE_DIR: dir })).toEqual({
      result: { client: join(dir, '.outpost', 'python', 'outpost_pipes.py') },
      metadata: { rows: 3 },
    });
    // Away from the SDK's source tree and without the bundle's directory, nothing provides it.
    const alone = (await launchIn(dir, {})) as { threw: string };
    expect(alone.threw).toMatch(
      /exited with status 1; its last line on stderr: ModuleNotFoundError: No module named 'outpost_pipes'/,
    );
  });

  it('is left out of a bundle whose code never includes the launcher', async () => {
    const bundle = await buildBundle({ projectDir: plainProject, entrypoints: ['flows/hello.ts'] });
    expect(bundle.files.map((file) => file.path).filter((path) => path.startsWith('.outpost/'))).toEqual([]);
  });

  it('goes on PYTHONPATH after the entries already there, once', () => {
    expect(withPythonClient(undefined, '/b/.outpost/python')).toBe('/b/.outpost/python');
    expect(withPythonClient(['/mine', ''].join(delimiter), '/b/.outpost/python')).toBe(
      ['/mine', '/b/.outpost/python'].join(delimiter),
    );
    expect(withPythonClient(['/b/.outpost/python', '/mine'].join(delimiter), '/b/.outpost/python')).toBe(
      ['/b/.outpost/python', '/mine'].join(delimiter),
    );
    expect(withPythonClient('/mine', null)).toBe('/mine');
  });
});
