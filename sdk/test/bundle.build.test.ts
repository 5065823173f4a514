import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type BuiltBundle, BundleError, buildBundle } from '../src/bundle/index.js';
import { packBundle } from '../src/bundle/manifest.js';
import { useTemporaryDirs } from './support/bundle.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/bundle-project', import.meta.url));
const repositoryRoot = resolve(fixture, '../../../..');
const temporaryDir = useTemporaryDirs('outpost-bundle-build-');

async function writeBundle(bundle: BuiltBundle, dir: string): Promise<void> {
  for (const file of bundle.files) {
    await mkdir(dirname(join(dir, file.path)), { recursive: true });
    await writeFile(join(dir, file.path), file.bytes);
  }
}

/** Imports a module in a fresh Node process, the way a worker's child would, and prints what `call` returns. */
async function runInNode(dir: string, module: string, call: string): Promise<string> {
  const script = `const m = await import(${JSON.stringify(`./${module}`)}); try { console.log(JSON.stringify(${call})); } catch (e) { console.log(JSON.stringify({ threw: e.name })); }`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: dir,
    env: { PATH: process.env.PATH },
  });
  return JSON.parse(stdout.trim()) as string;
}

describe('buildBundle', () => {
  it('building the same project twice gives byte-identical bundles and the same digest', async () => {
    const first = await buildBundle({ projectDir: fixture, entrypoints: ['flows/hello.ts', 'flows/goodbye.ts'] });
    const second = await buildBundle({ projectDir: fixture, entrypoints: ['./flows/goodbye.ts', 'flows/hello.ts'] });

    expect(first.files.map((file) => file.path)).toEqual([
      'flows/goodbye.mjs',
      'flows/goodbye.mjs.map',
      'flows/hello.mjs',
      'flows/hello.mjs.map',
    ]);
    expect(first.entrypoints).toEqual({ 'flows/hello.ts': 'flows/hello.mjs', 'flows/goodbye.ts': 'flows/goodbye.mjs' });
    expect(second.files.map((file) => Buffer.from(file.bytes).toString('hex'))).toEqual(
      first.files.map((file) => Buffer.from(file.bytes).toString('hex')),
    );
    expect(packBundle(second).digest).toBe(packBundle(first).digest);
    expect(packBundle(first).digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('keeps absolute paths of the build machine out of the bundle and links relative source maps', async () => {
    const bundle = await buildBundle({ projectDir: fixture, entrypoints: ['flows/hello.ts'] });
    for (const file of bundle.files) {
      const text = Buffer.from(file.bytes).toString('utf8');
      for (const machinePath of [repositoryRoot, fixture, homedir(), tmpdir()]) expect(text).not.toContain(machinePath);
    }
    const module = Buffer.from(bundle.files.find((file) => file.path === 'flows/hello.mjs')!.bytes).toString('utf8');
    expect(module.trimEnd().endsWith('//# sourceMappingURL=hello.mjs.map')).toBe(true);
    const map = JSON.parse(Buffer.from(bundle.files.find((file) => file.path === 'flows/hello.mjs.map')!.bytes).toString('utf8'));
    expect(map.sources).toContain('hello.ts');
    expect(map.sources.some((source: string) => source.includes('node_modules/zod/'))).toBe(true);
    for (const source of map.sources as string[]) expect(source.startsWith('/')).toBe(false);
  });

  it('a bundle runs on its own, with zod and a CommonJS dependency inside it', async () => {
    const bundle = await buildBundle({ projectDir: fixture, entrypoints: ['flows/hello.ts'] });
    const dir = await temporaryDir();
    await writeBundle(bundle, dir);

    expect(await runInNode(dir, 'flows/hello.mjs', "m.hello({ name: 'ada', times: 2 })")).toBe('hello ada! hello ada!');
    expect(await runInNode(dir, 'flows/hello.mjs', "m.hello({ name: '' })")).toEqual({ threw: 'ZodError' });
  });

  it('a minified bundle is smaller and still runs', async () => {
    const plain = await buildBundle({ projectDir: fixture, entrypoints: ['flows/goodbye.ts'] });
    const minified = await buildBundle({ projectDir: fixture, entrypoints: ['flows/goodbye.ts'], minify: true });
    const size = (bundle: BuiltBundle) => bundle.files.find((file) => file.path === 'flows/goodbye.mjs')!.bytes.byteLength;
    expect(size(minified)).toBeLessThan(size(plain));
    const dir = await temporaryDir();
    await writeBundle(minified, dir);
    expect(await runInNode(dir, 'flows/goodbye.mjs', "m.goodbye('bob')")).toBe('goodbye bob');
  });

  it('an entrypoint that does not exist fails as invalid, naming the path', async () => {
    const error = await buildBundle({ projectDir: fixture, entrypoints: ['flows/missing.ts'] }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe('invalid');
    expect((error as BundleError).message).toContain('flows/missing.ts');
  });

  it('an entrypoint outside the project directory is refused', async () => {
    await expect(buildBundle({ projectDir: join(fixture, 'flows'), entrypoints: ['../lib/legacy.cjs'] })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringContaining('outside the project'),
    });
  });

  it('a source that does not compile fails as invalid with its location', async () => {
    const dir = await temporaryDir();
    await mkdir(join(dir, 'flows'));
    await writeFile(join(dir, 'flows', 'broken.ts'), 'export const x = ;\n');
    await expect(buildBundle({ projectDir: dir, entrypoints: ['flows/broken.ts'] })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringContaining('flows/broken.ts:1:'),
    });
  });

  it('two entrypoints that would build to the same module are refused', async () => {
    const dir = await temporaryDir();
    await writeFile(join(dir, 'a.ts'), 'export const a = 1;\n');
    await writeFile(join(dir, 'a.js'), 'export const a = 2;\n');
    await expect(buildBundle({ projectDir: dir, entrypoints: ['a.ts', 'a.js'] })).rejects.toMatchObject({ code: 'invalid' });
  });
});
