import { chmod, mkdir, readFile, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBundle, pullBundle, pushBundle } from '../src/bundle/index.js';
import { EXECUTABLE_ANNOTATION, packBundle, TITLE_ANNOTATION } from '../src/bundle/manifest.js';
import { useTemporaryDirs } from './support/bundle.js';

const temporaryDir = useTemporaryDirs('outpost-bundle-files-');

/** A scratch directory holding a project (`project/`) and whatever lies beside it. */
async function scratch(): Promise<{ base: string; project: string }> {
  const base = await temporaryDir();
  const project = join(base, 'project');
  await put(project, 'flows/train.ts', "export const greeting: string = 'hello';\n");
  await put(project, 'scripts/train.py', 'print("training")\n', 0o755);
  await put(project, 'scripts/helper.py', 'VALUE = 1\n');
  await put(project, 'scripts/notes.txt', 'not a script\n');
  return { base, project };
}

async function put(dir: string, path: string, text: string, mode?: number): Promise<string> {
  const target = join(dir, path);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, text);
  if (mode !== undefined) await chmod(target, mode);
  return target;
}

function build(project: string, files: string[]) {
  return buildBundle({ projectDir: project, entrypoints: ['flows/train.ts'], files });
}

describe('buildBundle with project files', () => {
  it('ships the files a pattern matches at their project paths, executable bit included, with the same digest twice', async () => {
    const { project } = await scratch();
    const first = await build(project, ['scripts/*.py']);
    // Only the bytes, path and executable bit count: a newer modification time changes nothing.
    const later = new Date(Date.now() + 3_600_000);
    await utimes(join(project, 'scripts/train.py'), later, later);
    const second = await build(project, ['scripts/*.py']);

    expect(first.files.map((file) => file.path)).toEqual([
      'flows/train.mjs',
      'flows/train.mjs.map',
      'scripts/helper.py',
      'scripts/train.py',
    ]);
    const train = first.files.find((file) => file.path === 'scripts/train.py')!;
    expect(Buffer.from(train.bytes).toString()).toBe('print("training")\n');
    expect(train.executable).toBe(true);
    expect(first.files.find((file) => file.path === 'scripts/helper.py')!.executable).toBeUndefined();
    expect(packBundle(second).digest).toBe(packBundle(first).digest);

    const manifest = JSON.parse(Buffer.from(packBundle(first).manifest).toString()) as {
      layers: { annotations: Record<string, string> }[];
    };
    const executables = manifest.layers
      .filter((layer) => layer.annotations[EXECUTABLE_ANNOTATION] === 'true')
      .map((layer) => layer.annotations[TITLE_ANNOTATION]);
    expect(executables).toEqual(['scripts/train.py']);
  });

  it('unpacks a pushed bundle with its shipped files, the executable one with mode 0755', async () => {
    const { base, project } = await scratch();
    const built = await build(project, ['scripts/*.py']);
    const { source } = await pushBundle(built, `oci-layout://${join(base, 'layout')}`);
    const { dir, release } = await pullBundle(source, { cacheDir: join(base, 'cache'), credentials: null, hold: true });
    release?.();

    expect(await readFile(join(dir, 'scripts/train.py'), 'utf8')).toBe('print("training")\n');
    expect((await stat(join(dir, 'scripts/train.py'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dir, 'scripts/helper.py'))).mode & 0o111).toBe(0);
    expect(await stat(join(dir, 'scripts/notes.txt')).catch(() => null)).toBeNull();
  });

  it('keeps a held cache entry, shipped files and all, through eviction until it is released', async () => {
    const { base, project } = await scratch();
    const pushVariant = async (name: string) => {
      await put(project, 'scripts/variant.py', `NAME = "${name}"\n`);
      return (await pushBundle(await build(project, ['scripts/*.py']), `oci-layout://${join(base, name)}`)).source;
    };
    const [first, second, third] = [await pushVariant('first'), await pushVariant('second'), await pushVariant('third')];
    const options = { cacheDir: join(base, 'cache'), credentials: null, maxCacheBytes: 1 };
    const held = await pullBundle(first, { ...options, hold: true });
    // Over the limit: everything but the entry just pulled and the held one goes.
    await pullBundle(second, options);
    expect(await readFile(join(held.dir, 'scripts/variant.py'), 'utf8')).toBe('NAME = "first"\n');
    held.release?.();
    await pullBundle(third, options);
    expect(await stat(held.dir).catch(() => null)).toBeNull();
  });

  it('never ships node_modules or .git, even for a pattern that matches every file of a kind', async () => {
    const { project } = await scratch();
    await put(project, 'node_modules/dep/setup.py', 'print("dependency")\n');
    await put(project, 'lib/node_modules/dep/setup.py', 'print("nested dependency")\n');
    await put(project, '.git/hooks/commit.py', 'print("hook")\n');
    const built = await build(project, ['**/*.py']);
    expect(built.files.map((file) => file.path).filter((path) => path.endsWith('.py'))).toEqual([
      'scripts/helper.py',
      'scripts/train.py',
    ]);
  });

  it('refuses a pattern that reaches outside the project with one line naming it', async () => {
    const { base, project } = await scratch();
    await put(base, 'x', 'outside\n');
    const error = await build(project, ['../x']).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ name: 'BundleError', code: 'invalid' });
    expect((error as Error).message).toBe(`files: ../x is outside the project directory ${project}`);
  });

  it('refuses a symlink that leads outside the project with one line naming the file', async () => {
    const { base, project } = await scratch();
    const secret = await put(base, 'outside/secret.py', 'TOKEN = "abc"\n');
    await symlink(secret, join(project, 'scripts/evil.py'));
    const error = await build(project, ['scripts/*.py']).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ name: 'BundleError', code: 'invalid' });
    expect((error as Error).message).toBe(
      `files: scripts/evil.py is a symlink to ${secret}, outside the project directory ${project}`,
    );
  });

  it('refuses a file under a symlinked directory that leads outside the project', async () => {
    const { base, project } = await scratch();
    const secret = await put(base, 'outside/secret.py', 'TOKEN = "abc"\n');
    await symlink(dirname(secret), join(project, 'scripts/linked'));
    const error = await build(project, ['scripts/**/*.py']).catch((thrown: unknown) => thrown);
    expect((error as Error).message).toBe(
      `files: scripts/linked/secret.py resolves to ${secret} through a symlinked directory, outside the project directory ${project}`,
    );
  });

  it('ships a symlink that stays inside the project as the file it points at', async () => {
    const { project } = await scratch();
    await symlink('train.py', join(project, 'scripts/alias.py'));
    const built = await build(project, ['scripts/*.py']);
    const alias = built.files.find((file) => file.path === 'scripts/alias.py')!;
    expect(Buffer.from(alias.bytes).toString()).toBe('print("training")\n');
  });

  it('refuses files over 50 MiB in total, naming the file that crosses the limit', async () => {
    const { project } = await scratch();
    // Sparse: the size is checked before any byte is read.
    const big = await put(project, 'data/big.bin', '');
    await truncate(big, 60 * 1024 * 1024);
    const error = await build(project, ['scripts/*.py', 'data/big.bin']).catch((thrown: unknown) => thrown);
    expect((error as Error).message).toBe(
      'files: data/big.bin takes the shipped files to 62914560 bytes, over the limit of 50 MiB (52428800 bytes)',
    );
  });

  it('refuses a pattern that matches no file, so a mistyped name fails the deploy and not the run', async () => {
    const { project } = await scratch();
    const error = await build(project, ['scripts/*.R']).catch((thrown: unknown) => thrown);
    expect((error as Error).message).toBe(`files: the pattern scripts/*.R matches no file in ${project}`);
  });
});
