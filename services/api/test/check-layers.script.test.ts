import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';

const script = fileURLToPath(new URL('../scripts/check-layers.mjs', import.meta.url));
const run = promisify(execFile);

let roots: string[] = [];
afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

/** A source tree of the given files (path → text) in a fresh directory. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'check-layers-'));
  roots.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

async function check(root: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, '--root', root, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Rooms that import only downwards: db ← runs ← routes, with the composition root on top. */
const layered = {
  'db/client.ts': 'export const sql = 1;\n',
  'runs/create.ts':
    "import { sql } from '../db/client.js';\nimport type { AppDeps } from '../context.js';\nexport const create = (d: AppDeps) => sql + d.n;\n",
  'routes/runs.ts': "import { create } from '../runs/create.js';\nexport const handler = create;\n",
  'context.ts': "import type { create } from './runs/create.js';\nexport interface AppDeps { n: number; c?: typeof create }\n",
  'app.ts': "import { handler } from './routes/runs.js';\nexport const app = handler;\n",
  'testing/index.ts': "import { app } from '../app.js';\nexport const start = app;\n",
};

describe('the layer check over the API source', () => {
  test('passes a tree whose rooms import only downwards, and prints their order lowest first', async () => {
    const result = await check(tree(layered), '--order');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['db/', 'runs/', 'routes/', 'testing/']);
  });

  test('fails an import that runs back up, naming both rooms and the file that does it', async () => {
    const root = tree({
      ...layered,
      'db/client.ts': "import { create } from '../runs/create.js';\nexport const sql = 1 + String(create).length;\n",
    });
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('rooms db/, runs/ import each other in a cycle');
    expect(result.stderr).toContain('db/client.ts → runs/create.ts');
  });

  test('counts a type-only import that runs back up as one, since the rooms are then still tangled', async () => {
    const root = tree({
      ...layered,
      'db/types.ts': "import type { create } from '../runs/create.js';\nexport type C = typeof create;\n",
    });
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('db/types.ts → runs/create.ts');
  });

  test('fails a value import of the composition root, and allows only types from context.ts', async () => {
    const root = tree({ ...layered, 'routes/app-user.ts': "import { app } from '../app.js';\nexport const again = app;\n" });
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('routes/app-user.ts imports app.ts');
  });

  test('fails product code that imports test support', async () => {
    const root = tree({
      ...layered,
      'runs/uses-testing.ts': "import { start } from '../testing/index.js';\nexport const s = start;\n",
    });
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('runs/uses-testing.ts imports testing/index.ts: test support is for the suites');
  });

  test('fails two files of one room that import each other’s values', async () => {
    const root = tree({
      ...layered,
      'runs/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'runs/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('files runs/a.ts, runs/b.ts import each other');
  });

  test("lets a room below a feature read the feature's tables through its db/ folder, a room of its own", async () => {
    const root = tree({
      ...layered,
      'pools/db/pools.ts': "import { sql } from '../../db/client.js';\nexport const poolRow = () => sql;\n",
      'pools/handlers.ts':
        "import { create } from '../runs/create.js';\nimport { poolRow } from './db/pools.js';\nexport const h = () => [create, poolRow];\n",
      'runs/scope.ts': "import { poolRow } from '../pools/db/pools.js';\nexport const scope = poolRow;\n",
    });
    const result = await check(root, '--order');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const order = result.stdout.trim().split('\n');
    expect(order.indexOf('pools/db/')).toBeLessThan(order.indexOf('runs/'));
    expect(order.indexOf('runs/')).toBeLessThan(order.indexOf('pools/'));
  });

  test("fails a feature's db/ folder that imports its own feature, since the two rooms then import each other", async () => {
    const root = tree({
      ...layered,
      'runs/db/runs.ts': "import { create } from '../create.js';\nexport const row = create;\n",
      'runs/create.ts': "import { sql } from '../db/client.js';\nexport const create = () => sql;\n",
      'runs/list.ts': "import { row } from './db/runs.js';\nexport const list = row;\n",
    });
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('rooms runs/, runs/db/ import each other in a cycle');
    expect(result.stderr).toContain('runs/db/runs.ts → runs/create.ts');
  });

  test('passes the API as it is', async () => {
    const result = await check(fileURLToPath(new URL('../src', import.meta.url)));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
