import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const viteBin = join(createRequire(import.meta.url).resolve('vite/package.json'), '..', 'bin', 'vite.js');

// Every line a clean `vite build` prints; anything else (a chunk-size warning, an unbundled script,
// a directive notice, a timing hint) is something a newcomer would see and wonder about.
const expectedLine = [
  /^vite v[\d.]+ building client environment for production\.\.\.$/,
  /^transforming\.\.\.$/,
  /^✓ \d+ modules transformed\.$/,
  /^rendering chunks\.\.\.$/,
  /^computing gzip size\.\.\.$/,
  /^\S+\s+[\d,.]+ kB( │ gzip: +[\d,.]+ kB)?$/,
  /^✓ built in [\d.]+m?s$/,
];

const outDirs: string[] = [];
afterAll(async () => {
  await Promise.all(outDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function build(outDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [viteBin, 'build', '--outDir', outDir, '--emptyOutDir'], {
      cwd: root,
      // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
      env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Node's globals at a place code uses them (not a property such as `ArrayBuffer` or `x.process`). A
 * bundled library may test `typeof process` before touching it; such a guarded use is left out.
 */
const NODE_GLOBAL = /(?<![\w$.])(?:(Buffer)\s*[.(]|(process)\.[A-Za-z_$]|(__dirname|__filename)\b|(require|setImmediate)\()/g;

function unguardedNodeGlobals(code: string): string[] {
  const found: string[] = [];
  for (const match of code.matchAll(NODE_GLOBAL)) {
    const before = code.slice(Math.max(0, match.index - 120), match.index);
    const name = match.slice(1).find((group) => group !== undefined);
    if (before.includes(`typeof ${name}`)) continue;
    found.push(code.slice(Math.max(0, match.index - 40), match.index + 60));
  }
  return found;
}

let built: { outDir: string; code: number | null; output: string } | undefined;

async function builtOnce() {
  if (!built) {
    const outDir = await mkdtemp(join(tmpdir(), 'outpost-dashboard-build-'));
    outDirs.push(outDir);
    built = { outDir, ...(await build(outDir)) };
  }
  return built;
}

describe('dashboard production build', () => {
  it('prints no warnings and keeps every chunk under 500 kB', async () => {
    const { code, output } = await builtOnce();
    expect(code, output).toBe(0);
    const lines = output
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    const unexpected = lines.filter((line) => !expectedLine.some((pattern) => pattern.test(line)));
    expect(unexpected).toEqual([]);
    // Vite names each chunk with its size; every chunk stays below the 500 kB warning limit.
    const oversized = lines.filter((line) => {
      const match = /^(\S+\.js)\s+([\d,.]+) kB/.exec(line);
      return match?.[1] && match[2] && Number(match[2].replace(/,/g, '')) > 500;
    });
    expect(oversized).toEqual([]);
  }, 120_000);

  it('uses no Node built-in: no chunk calls Buffer, process, require or another Node global the browser lacks', async () => {
    const { outDir, code, output } = await builtOnce();
    expect(code, output).toBe(0);
    const assets = join(outDir, 'assets');
    const chunks = (await readdir(assets)).filter((name) => name.endsWith('.js'));
    expect(chunks.length).toBeGreaterThan(5);
    const uses: string[] = [];
    for (const name of chunks) {
      for (const use of unguardedNodeGlobals(await readFile(join(assets, name), 'utf8'))) uses.push(`${name}: ${use}`);
    }
    expect(uses).toEqual([]);
  }, 120_000);

  it('finds a Node global the way a bundle would use it, and passes a guarded one', () => {
    expect(unguardedNodeGlobals('th=e=>Buffer.byteLength(JSON.stringify(e??null))')).toHaveLength(1);
    expect(unguardedNodeGlobals('if(typeof process==`object`&&typeof process.emit==`function`){process.emit(`x`)}')).toEqual([]);
    expect(unguardedNodeGlobals('ArrayBuffer.isView(e);a.process(b);process(e,t){};`stops the process. Then`')).toEqual([]);
    expect(unguardedNodeGlobals('let e=process.env.X;require(`fs`)')).toHaveLength(2);
  });
});
