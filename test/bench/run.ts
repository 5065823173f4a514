import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, type Machine, postgresVersion } from './support/machine.js';
import { formatTable, renderResults } from './support/report.js';
import type { Row } from './support/row.js';

/**
 * `npm run bench` (from the root, or `node --import tsx bench/run.ts` in test/): runs every
 * `bench/*.ts` module that exports `run(): Promise<Row[]>`, one after another, each in a process of
 * its own with a time limit, against one Postgres (TEST_DATABASE_URL / DATABASE_URL, else an
 * embedded one). Prints one table and writes `bench/results/<YYYY-MM-DD>.md`.
 *
 *   npm run bench                        every module, results file written
 *   npm run bench -- dispatch idle       only these modules (no results file unless BENCH_SAVE=1)
 *   npm run bench -- seed [--scale 0.01] builds the database of a year for the `year` module (support/seed.ts)
 */
const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const CHILD = join(BENCH_DIR, 'support', 'run-module.ts');
/** A module's limit unless it exports `timeoutSeconds`; BENCH_TIMEOUT_SECONDS overrides both. */
const DEFAULT_TIMEOUT_SECONDS = 300;
const KILL_GRACE_MS = 5000;

interface ModuleResult {
  module: string;
  rows: Row[];
  notes: string | null;
  error: string | null;
  seconds: number;
}

type ChildMessage =
  | { type: 'start'; timeoutSeconds: number | null }
  | { type: 'skip'; reason: string }
  | { type: 'rows'; rows: Row[]; notes: string | null }
  | { type: 'error'; message: string };

const running = new Set<ChildProcess>();
let interrupted = false;

async function discover(only: readonly string[]): Promise<string[]> {
  const files = (await readdir(BENCH_DIR))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts') && f !== 'run.ts')
    .sort();
  if (only.length === 0) return files;
  const wanted = new Set(only.map((name) => name.replace(/\.ts$/, '')));
  const unknown = [...wanted].filter((name) => !files.includes(`${name}.ts`));
  if (unknown.length > 0) throw new Error(`no benchmark module named ${unknown.join(', ')} (have: ${files.join(', ')})`);
  return files.filter((f) => wanted.has(f.replace(/\.ts$/, '')));
}

/** Kills the module's whole process group (it may have started an API, workers, flow processes). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function isValidRow(value: unknown): value is Row {
  const r = value as Partial<Row> | null;
  const numberOrNull = (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x));
  return (
    !!r &&
    typeof r.name === 'string' &&
    typeof r.value === 'number' &&
    typeof r.unit === 'string' &&
    numberOrNull(r.baseline) &&
    numberOrNull(r.ratio)
  );
}

function runModule(file: string, env: NodeJS.ProcessEnv): Promise<ModuleResult | null> {
  const module = basename(file, '.ts');
  const started = performance.now();
  const override = Number(process.env.BENCH_TIMEOUT_SECONDS);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, join(BENCH_DIR, file)], {
      cwd: dirname(BENCH_DIR),
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    running.add(child);
    let result: Omit<ModuleResult, 'seconds'> | null = null;
    let skipped = false;
    let timer: NodeJS.Timeout | null = null;
    const arm = (seconds: number) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        result = { module, rows: result?.rows ?? [], notes: null, error: `did not finish within ${seconds} s; stopped` };
        killGroup(child, 'SIGTERM');
        setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref();
      }, seconds * 1000);
    };
    arm(override > 0 ? override : DEFAULT_TIMEOUT_SECONDS);
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'skip') skipped = true;
      else if (message.type === 'start' && !(override > 0)) arm(message.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS);
      else if (message.type === 'error') result = { module, rows: [], notes: null, error: message.message };
      else if (message.type === 'rows') {
        const bad = message.rows.filter((r) => !isValidRow(r));
        result = {
          module,
          rows: message.rows.filter(isValidRow),
          notes: message.notes,
          error: bad.length > 0 ? `${bad.length} row(s) without a name, numeric value, unit, baseline and ratio` : null,
        };
      }
    });
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      running.delete(child);
      // Whatever the module started in its group goes with it.
      killGroup(child, 'SIGKILL');
      if (skipped) return resolve(null);
      const seconds = (performance.now() - started) / 1000;
      resolve({
        ...(result ?? { module, rows: [], notes: null, error: `exited (${signal ?? `code ${code}`}) without reporting` }),
        seconds,
      });
    });
  });
}

interface Database {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

async function ensureDatabase(): Promise<Database> {
  const given = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (given) return { url: given, embedded: false, stop: async () => {} };
  process.stderr.write('bench: no TEST_DATABASE_URL or DATABASE_URL; starting an embedded Postgres…\n');
  const { startEmbeddedPostgres } = await import('@outpost/api');
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-pg-'));
  try {
    const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), database: 'postgres', ephemeral: true });
    return {
      url: pg.adminUrl,
      embedded: true,
      stop: async () => {
        await pg.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { save: { type: 'boolean', default: false }, 'no-save': { type: 'boolean', default: false } },
  });
  const files = await discover(positionals);
  const db = await ensureDatabase();
  const results: ModuleResult[] = [];
  let machine: Machine;
  try {
    machine = describeMachine(await postgresVersion(db.url), db.embedded);
    // Both names: the API's test helpers read TEST_DATABASE_URL, other tools DATABASE_URL.
    const env = { ...process.env, TEST_DATABASE_URL: db.url, DATABASE_URL: db.url, OUTPOST_TEST_LOG_LEVEL: 'silent' };
    for (const file of files) {
      if (interrupted) break;
      process.stderr.write(`bench: ${file}…\n`);
      const result = await runModule(file, env);
      if (!result) {
        process.stderr.write(`bench: ${file} exports no run(); skipped\n`);
        continue;
      }
      results.push(result);
      const status = result.error ? `FAILED: ${result.error.split('\n')[0]}` : `${result.rows.length} row(s)`;
      process.stderr.write(`bench: ${file} done in ${result.seconds.toFixed(1)} s, ${status}\n`);
    }
  } finally {
    await db.stop();
  }

  process.stdout.write(`\n${formatTable(results.flatMap((r) => r.rows))}\n`);
  for (const failed of results.filter((r) => r.error)) process.stdout.write(`\n${failed.module} failed: ${failed.error}\n`);
  // An environment variable too: through `npm run bench` at the root, flags would reach npm, not us.
  const save = values.save || process.env.BENCH_SAVE === '1' || (positionals.length === 0 && !values['no-save']);
  if (save) {
    const date = new Date().toISOString().slice(0, 10);
    const path = join(BENCH_DIR, 'results', `${date}.md`);
    const loadAverageAtEnd = Math.round((loadavg()[0] ?? 0) * 100) / 100;
    await writeFile(path, renderResults({ date, machine, results, loadAverageAtEnd }));
    process.stdout.write(`\nwrote ${path}\n`);
  }
  return results.some((r) => r.error) ? 1 : 0;
}

// `seed` is a command of its own, not a module: it builds the database the `year` module measures on.
if (process.argv[2] === 'seed') {
  const { seed } = await import('./support/seed.js');
  try {
    await seed(process.argv.slice(3));
  } catch (error) {
    process.stderr.write(`seed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  process.exit(0);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    for (const child of running) killGroup(child, 'SIGKILL');
    process.exitCode = 130;
  });
}

process.exitCode = await main();
