import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Level, type Logger, pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import {
  createDatabaseBefore,
  createTestDatabase,
  startTestServer,
  type TestDatabase,
  type TestServer,
  type TestWorkspace,
} from '../src/testing/index.js';
import { TestMailbox } from '../src/testing/mailbox.js';

export const SOURCE = `oci://127.0.0.1:5000/acme/flows@sha256:${'a'.repeat(64)}`;

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely and assert on them.
  body: any;
  headers: Headers;
  text: string;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  raw?: string;
  headers?: Record<string, string>;
}

/**
 * A pino logger at `level` whose output a test reads back: `chunks` as written, `records` each line
 * parsed. `onWrite` runs after each write, for a test waiting on a line.
 */
export function capturedLogger(
  level: Level,
  onWrite?: () => void,
): { logger: Logger; chunks: string[]; records: Record<string, unknown>[] } {
  const chunks: string[] = [];
  const records: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const text = String(chunk);
      chunks.push(text);
      for (const line of text.split('\n').filter(Boolean)) records.push(JSON.parse(line));
      onWrite?.();
      done();
    },
  });
  return { logger: pino({ level }, sink), chunks, records };
}

/** A fixture's value once its `beforeAll` has set it. */
function startedValue<T>(value: T | undefined, what = 'the test server'): T {
  if (value === undefined) throw new Error(`${what} is not ready yet: read it inside a test or hook`);
  return value;
}

/** What `startTestServer` takes. */
type ServerOptionsOf = NonNullable<Parameters<typeof startTestServer>[0]>;

/** The file's test server and a caller with its owner key, for the file's tests and hooks. */
export interface ServerFixture {
  readonly server: TestServer;
  readonly owner: Call;
}

/**
 * Starts a test server before the file's tests and closes it after them. `options` go to
 * `startTestServer` as they are, or as a function gives them when the server starts (by default no
 * background loops: a test drives the loop it needs).
 * Hooks the file adds after this call run after the start and before the close.
 */
export function useServer(options: ServerOptionsOf | (() => ServerOptionsOf) = { loops: false }): ServerFixture {
  let server: TestServer | undefined;
  let owner: Call | undefined;
  beforeAll(async () => {
    server = await startTestServer(typeof options === 'function' ? options() : options);
    owner = client(server, server.ownerKey);
  });
  afterAll(async () => {
    await server?.close();
  });
  return {
    get server() {
      return startedValue(server);
    },
    get owner() {
      return startedValue(owner);
    },
  };
}

/**
 * A background loop the file's tests drive themselves (by `tick()`) on a server started without
 * loops: `make` builds it once the server has started, and it stops after the file's tests. The
 * function returned gives it, inside a test or hook.
 */
export function useDrivenLoop<L extends { stop(): Promise<void> }>(make: () => L): () => L {
  let loop: L | undefined;
  beforeAll(() => {
    loop = make();
  });
  afterAll(async () => {
    await loop?.stop();
  });
  return () => startedValue(loop, 'the loop');
}

/** A workspace of the file's own on its test server, and a caller with that workspace's owner key. */
export interface WorkspaceFixture {
  readonly ws: TestWorkspace;
  readonly owner: Call;
}

/**
 * Creates a workspace of the file's own before its tests, once `api`'s server has started, so that
 * what the tests make is all the workspace holds.
 */
export function useWorkspace(api: ServerFixture): WorkspaceFixture {
  let ws: TestWorkspace | undefined;
  let owner: Call | undefined;
  beforeAll(async () => {
    ws = await api.server.createWorkspace();
    owner = client(api.server, ws.ownerKey);
  });
  return {
    get ws() {
      return startedValue(ws, 'the workspace');
    },
    get owner() {
      return startedValue(owner, 'the workspace');
    },
  };
}

/** A database a file made for itself, and a client of it. */
export interface ScratchDatabase {
  readonly url: string;
  readonly sql: postgres.Sql;
}

/** The databases a file makes for itself, and the clients it opens on them. */
export interface ScratchDatabases {
  /** A new database, migrated to this build, or as it stood before the migration `before` names. */
  make(before?: string): Promise<ScratchDatabase>;
  /** Another client of a database the file made. */
  connect(url: string, options?: postgres.Options<Record<string, postgres.PostgresType>>): postgres.Sql;
}

/**
 * Databases of the file's own, for tests that migrate, partition or break one: after the file's
 * tests every client opened here ends and every database made here is dropped.
 */
export function useScratchDatabases(): ScratchDatabases {
  const databases: TestDatabase[] = [];
  const clients: postgres.Sql[] = [];
  afterAll(async () => {
    for (const sql of clients) await sql.end({ timeout: 5 });
    for (const db of databases) await db.drop();
  });
  const connect: ScratchDatabases['connect'] = (url, options = {}) => {
    const sql = postgres(url, { max: 4, onnotice: () => {}, ...options });
    clients.push(sql);
    return sql;
  };
  return {
    async make(before) {
      const db = before ? await createDatabaseBefore(before) : await createTestDatabase();
      databases.push(db);
      return { url: db.url, sql: connect(db.url) };
    },
    connect,
  };
}

/** The sender the mail suites' servers write from. */
export const MAIL_FROM = 'Outpost <outpost@example.com>';

export interface MailServerFixture extends ServerFixture {
  /** The SMTP server the test server sends its mail to, which keeps what it receives. */
  readonly mailbox: TestMailbox;
}

/**
 * `useServer` with a mailbox: the mailbox starts first, the server sends to it from `MAIL_FROM`
 * (and with `options`), and the mailbox closes after the server.
 */
export function useMailServer(options: Omit<ServerOptionsOf, 'mail'> = {}): MailServerFixture {
  let mailbox: TestMailbox | undefined;
  beforeAll(async () => {
    mailbox = await TestMailbox.start();
  });
  afterAll(async () => {
    await mailbox?.close();
  });
  const fixture = useServer(() => ({
    loops: false,
    ...options,
    mail: { smtpUrl: startedValue(mailbox, 'the mailbox').url, from: MAIL_FROM },
  }));
  return Object.defineProperty(fixture, 'mailbox', { get: () => startedValue(mailbox, 'the mailbox') }) as MailServerFixture;
}

/** A response read whole: its body parsed as JSON when it is JSON, kept as text otherwise. */
export async function replyOf(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers, text };
}

/** Calls the app in-process (`app.request`) with a bearer token. */
export function client(server: Pick<TestServer, 'app'>, token: string) {
  return async (method: string, path: string, options: CallOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers };
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    return replyOf(await server.app.request(`/api/v1${path}`, { method, headers, body }));
  };
}

export type Call = ReturnType<typeof client>;

/**
 * The owner of another workspace of the file's server, made once before the file's tests: a
 * caller who must see and change nothing of the default workspace's.
 */
export function useOtherWorkspaceOwner(api: ServerFixture): Call {
  let other: Call | undefined;
  beforeAll(async () => {
    other = client(api.server, (await api.server.createWorkspace()).ownerKey);
  });
  return (method, path, options) => startedValue(other, 'the other workspace')(method, path, options);
}

export async function deploy(call: Call, overrides: Record<string, unknown> = {}): Promise<Reply['body']> {
  const res = await call('PUT', '/deployments', {
    body: { flowName: 'etl', name: 'nightly', source: SOURCE, entrypoint: 'flows/etl.js', workPool: 'default', ...overrides },
  });
  if (res.status !== 200) throw new Error(`deploy failed: ${res.status} ${res.text}`);
  return res.body.deployment;
}

export async function createRun(call: Call, deploymentId: string, body: Record<string, unknown> = {}): Promise<Reply['body']> {
  const res = await call('POST', `/deployments/${deploymentId}/runs`, { body });
  if (res.status !== 201) throw new Error(`create run failed: ${res.status} ${res.text}`);
  return res.body.flowRun;
}

/** Claims up to `limit` runs of `pool` for a fresh worker id (or the given one). */
export async function claim(call: Call, pool = 'default', limit = 1, workerId: string = randomUUID()): Promise<Reply['body'][]> {
  const res = await call('POST', `/work-pools/${pool}/claim`, { body: { workerId, limit } });
  if (res.status !== 200) throw new Error(`claim failed: ${res.status} ${res.text}`);
  return res.body.runs;
}

/** A run of a new deployment of `pool` (with `deployment`'s settings), claimed and started; a caller holding its run token. */
export async function startedRun(
  server: Pick<TestServer, 'app'>,
  owner: Call,
  pool = 'default',
  deployment: Record<string, unknown> = {},
): Promise<{ id: string; asRun: Call }> {
  const { id: deploymentId } = await deploy(owner, {
    flowName: `run-${randomUUID().slice(0, 6)}`,
    name: 'd',
    workPool: pool,
    ...deployment,
  });
  await createRun(owner, deploymentId);
  const [claimed] = await claim(owner, pool);
  const asRun = client(server, claimed.token);
  await asRun('POST', `/flow-runs/${claimed.flowRun.id}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
  });
  return { id: claimed.flowRun.id, asRun };
}

/** Two runs of a new deployment in a new pool, both claimed: each run and its run token. */
export async function claimedPair(
  owner: Call,
  prefix: string,
): Promise<{ a: Reply['body']; b: Reply['body']; tokenA: string; tokenB: string }> {
  const pool = `${prefix}-${randomUUID().slice(0, 8)}`;
  await owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(owner, { flowName: pool, name: 'd', workPool: pool });
  const a = await createRun(owner, deployment.id);
  const b = await createRun(owner, deployment.id);
  const claimed: { flowRun: { id: string }; token: string }[] = await claim(owner, pool, 2);
  const tokenOf = (id: string) => claimed.find((c) => c.flowRun.id === id)?.token as string;
  return { a, b, tokenA: tokenOf(a.id), tokenB: tokenOf(b.id) };
}

/** The create event of the `i`th task run of a mapped `score` task, RUNNING since `at`. */
export function scoreTaskCreated(id: string, i: number, at: string) {
  return { kind: 'create', id, name: 'score', taskKey: `score-0[${i}]`, dynamicKey: String(i), state: { type: 'RUNNING' }, at };
}

/** A name no other test of the run uses: `name-` and eight hex digits. */
export const unique = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;

/** A run a worker claimed and started, as its run token's holder sees it. */
export interface HeldRun {
  runId: string;
  pool: string;
  /** The run token's client. */
  token: Call;
  attempt: number;
  source: string;
}

/** Claims the next run of `pool` as `worker`, checks it is `runId`, and starts it with the run token. */
export async function startClaimed(server: Pick<TestServer, 'app'>, worker: Call, runId: string, pool: string): Promise<HeldRun> {
  const [claimed] = await claim(worker, pool);
  if (claimed?.flowRun.id !== runId) throw new Error(`claimed ${claimed?.flowRun.id ?? 'nothing'}, not run ${runId}`);
  const token = client(server, claimed.token);
  const started = await token('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
  });
  if (started.body.status !== 'ACCEPT') throw new Error(`RUNNING was not accepted: ${started.text}`);
  return { runId, pool, token, attempt: claimed.flowRun.attempt, source: claimed.deployment.source };
}

/**
 * A RUNNING run of a new deployment in a pool of its own, claimed by `worker`. `deployment` adds to
 * the deployment's fields (a flow name, retries), `run` to the run's (parameters).
 */
export async function runInOwnPool(
  server: Pick<TestServer, 'app'>,
  callers: { owner: Call; worker: Call },
  options: { deployment?: Record<string, unknown>; run?: Record<string, unknown> } = {},
): Promise<HeldRun> {
  const pool = unique('pool');
  await callers.owner('POST', '/work-pools', { body: { name: pool } });
  const d = await deploy(callers.owner, { flowName: unique('flow'), workPool: pool, ...options.deployment });
  const run = await createRun(callers.owner, d.id, options.run ?? {});
  return startClaimed(server, callers.worker, run.id, pool);
}

/** Waits until the database clock has passed the run's lease. */
export async function leaseExpired(server: Pick<TestServer, 'sql'>, runId: string): Promise<void> {
  await eventually(
    async () => {
      const [row] = await server.sql<
        { expired: boolean }[]
      >`SELECT lease_expires_at < now() AS expired FROM flow_runs WHERE id = ${runId}`;
      return row?.expired ? true : undefined;
    },
    10_000,
    'the lease to expire',
  );
}

/** The organisation a workspace was created in. */
export async function organisationOf(
  server: Pick<TestServer, 'sql'>,
  workspaceId: string,
): Promise<{ id: string; slug: string }> {
  const [row] = await server.sql<{ id: string; slug: string }[]>`
    SELECT o.id, o.slug FROM workspaces w JOIN organisations o ON o.id = w.organisation_id WHERE w.id = ${workspaceId}`;
  if (!row) throw new Error(`workspace ${workspaceId} has no organisation`);
  return row;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A problem body without the fields that differ per request. */
export function comparable(problem: Record<string, unknown>): Record<string, unknown> {
  const { requestId: _r, instance: _i, ...rest } = problem;
  return rest;
}

/** A run row as the scheduler wrote it. */
export interface ScheduledRunRow {
  id: string;
  idempotency_key: string;
  expected_start_time: Date;
  parameters: Record<string, unknown>;
  state_type: string;
}

/** A deployment's runs, by expected start time and then idempotency key. */
export function scheduledRuns(server: Pick<TestServer, 'sql'>, deploymentId: string): Promise<ScheduledRunRow[]> {
  return server.sql<ScheduledRunRow[]>`
    SELECT id, idempotency_key, expected_start_time, parameters, state_type FROM flow_runs
    WHERE deployment_id = ${deploymentId} ORDER BY expected_start_time, idempotency_key`;
}
