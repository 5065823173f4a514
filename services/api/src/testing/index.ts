import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OrganisationTokenScope, Role } from '@outpost/sdk/contracts';
import type { Hono } from 'hono';
import postgres from 'postgres';
import { generateOrganisationToken } from '../auth/api-key-format.js';
import { createApiKey } from '../auth/create-api-key.js';
import { insertOrganisationToken } from '../auth/db/organisation-tokens.js';
import { countRows, type Sql } from '../db/client.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../db/embedded.js';
import { MIGRATIONS_DIR, migrateDatabase } from '../db/migrate.js';
import type { AppEnv } from '../http/env.js';
import { ensureWorkspace } from '../identity/db/workspaces.js';
import { getPoolByName, insertPool } from '../pools/db/pools.js';
import { type RunningServer, type ServerOptions, startServer } from '../server.js';

export { MAX_BUDGET_FAILURES } from '../automations/engine.js';
export { deleteExpiredEventIds, ledgerReadUpToNow } from '../events/db/events.js';
export { assetCheckEvent } from './asset-events.js';
export { TestDnsServer } from './dns-server.js';
export { type FinishedRunPlan, seedFinishedRun } from './finished-run.js';
export { type ProviderPerson, TestOidcProvider, type TokenTwist } from './oidc-provider.js';
export { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';

export interface TestDatabase {
  /** URL of a fresh, migrated database of its own. */
  url: string;
  /** Drops the database (and stops the embedded Postgres when it was the last one in use). */
  drop(): Promise<void>;
}

// ---- where test databases live -------------------------------------------------------------------

/**
 * Without TEST_DATABASE_URL or DATABASE_URL, one embedded Postgres per process serves every test
 * database. It stops, and its data directory is deleted, when the last database is dropped, so no
 * process or directory outlives the tests.
 */
let embedded: { cluster: Promise<EmbeddedPostgres>; users: number } | null = null;

async function startThrowawayCluster(): Promise<EmbeddedPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-test-pg-'));
  // Removed even when the process exits without dropping its databases.
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup);
  try {
    await chmod(dir, 0o755);
    const cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), database: 'postgres', ephemeral: true });
    return {
      ...cluster,
      stop: async () => {
        await cluster.stop();
        cleanup();
        process.off('exit', cleanup);
      },
    };
  } catch (error) {
    cleanup();
    process.off('exit', cleanup);
    throw error;
  }
}

async function acquireAdmin(): Promise<{ adminUrl: string; release(): Promise<void> }> {
  const fromEnv = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (fromEnv) return { adminUrl: fromEnv, release: async () => {} };
  embedded ??= { cluster: startThrowawayCluster(), users: 0 };
  const current = embedded;
  current.users++;
  let cluster: EmbeddedPostgres;
  try {
    cluster = await current.cluster;
  } catch (error) {
    if (embedded === current) embedded = null;
    throw error;
  }
  let released = false;
  return {
    adminUrl: cluster.adminUrl,
    release: async () => {
      if (released) return;
      released = true;
      current.users--;
      if (current.users === 0 && embedded === current) {
        embedded = null;
        await cluster.stop();
      }
    },
  };
}

// ---- template database ---------------------------------------------------------------------------

function migrationsHash(): string {
  const hash = createHash('sha256');
  const files = readdirSync(MIGRATIONS_DIR, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.sql') || f.endsWith('_journal.json'))
    .sort();
  for (const file of files) hash.update(file).update(readFileSync(join(MIGRATIONS_DIR, file)));
  return hash.digest('hex').slice(0, 16);
}

function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Clones a fresh database from a template migrated once per set of migrations and per UTC month
 * (its name carries both). The migrations make the month partitions of the month they run in, and
 * the suites expect a database migrated this month, not one a template from last month left.
 * Building and cloning happen under an advisory lock, so test files running in parallel processes
 * share one template safely.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { adminUrl, release } = await acquireAdmin();
  const month = new Date().toISOString().slice(0, 7).replace('-', '');
  const template = `outpost_tpl_${migrationsHash()}_${month}`;
  const name = `outpost_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`SELECT pg_advisory_lock(hashtext('outpost.test-template'))`;
    try {
      if ((await countRows(admin, admin`pg_database WHERE datname = ${template}`)) === 0) {
        const building = `${template}_building`;
        await admin.unsafe(`DROP DATABASE IF EXISTS ${quote(building)} WITH (FORCE)`);
        await admin.unsafe(`CREATE DATABASE ${quote(building)}`);
        await migrateDatabase(databaseUrl(adminUrl, building));
        await admin.unsafe(`ALTER DATABASE ${quote(building)} RENAME TO ${quote(template)}`);
      }
      await admin.unsafe(`CREATE DATABASE ${quote(name)} TEMPLATE ${quote(template)}`);
    } finally {
      await admin`SELECT pg_advisory_unlock(hashtext('outpost.test-template'))`;
    }
  } catch (error) {
    await admin.end({ timeout: 1 });
    await release();
    throw error;
  }
  await admin.end({ timeout: 5 });
  let dropped = false;
  return {
    url: databaseUrl(adminUrl, name),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
      } finally {
        await sql.end({ timeout: 5 });
        await release();
      }
    },
  };
}

/**
 * A fresh database migrated up to, not including, the migration tagged `tag` (as a database of an
 * earlier release is): for tests and benchmarks of what that migration does to existing rows. Run
 * `migrateDatabase(url)` on it to apply the rest.
 */
export async function createDatabaseBefore(tag: string): Promise<TestDatabase> {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  const cut = journal.entries.findIndex((entry) => entry.tag === tag);
  if (cut < 1) throw new Error(`no migration tagged ${tag} after the first`);
  journal.entries = journal.entries.slice(0, cut);
  const folder = mkdtempSync(join(tmpdir(), 'outpost-migrations-'));
  const db = await createTestDatabase();
  try {
    mkdirSync(join(folder, 'meta'));
    writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify(journal));
    for (const entry of journal.entries) copyFileSync(join(MIGRATIONS_DIR, `${entry.tag}.sql`), join(folder, `${entry.tag}.sql`));
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS drizzle CASCADE; CREATE SCHEMA public');
    } finally {
      await sql.end({ timeout: 5 });
    }
    await migrateDatabase(db.url, folder);
    return db;
  } catch (error) {
    await db.drop();
    throw error;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export { migrateDatabase };

/**
 * An organisation token of the workspace's organisation, as an owner makes one on the Organisation
 * page (`POST /organisations/:org/tokens`), for suites that drive a client with it; its clear text.
 */
export async function createOrganisationToken(
  sql: Sql,
  workspaceId: string,
  name = 'test token',
  scopes: OrganisationTokenScope[] = ['audit:read'],
): Promise<string> {
  const [row] = await sql<{ organisation_id: string }[]>`SELECT organisation_id FROM workspaces WHERE id = ${workspaceId}`;
  if (!row) throw new Error('no such workspace');
  const { key, hash, prefix } = generateOrganisationToken();
  await insertOrganisationToken(sql, {
    organisationId: row.organisation_id,
    name,
    scopes,
    prefix,
    hash,
    createdBy: null,
    expiresAt: null,
  });
  return key;
}

// ---- a running server on a fresh database --------------------------------------------------------

export interface TestWorkspace {
  workspaceId: string;
  /** An owner API key of the workspace. */
  ownerKey: string;
  /** A new API key of the workspace with this role (worker keys optionally limited to pools). */
  createKey(role: Role, pools?: string[]): Promise<string>;
}

/** Another API server of the same database, as a replica would be. */
export interface TestReplica {
  url: string;
  app: Hono<AppEnv>;
  close(): Promise<void>;
}

export interface TestServer extends TestWorkspace {
  url: string;
  app: Hono<AppEnv>;
  sql: Sql;
  databaseUrl: string;
  /** Another workspace (with its own `default` pool), for tenancy tests. */
  createWorkspace(): Promise<TestWorkspace>;
  /**
   * Another server (another app, with AppDeps of its own) on this one's database and connection
   * pool, in this process; closed before this one is. Sharing the pool leaves nothing but AppDeps
   * to keep the two apart.
   */
  startReplica(overrides?: Partial<ServerOptions>): Promise<TestReplica>;
  close(): Promise<void>;
}

let keyCounter = 0;

/** Limits far above what any suite sends; a test of rate limiting passes its own `rateLimits`. */
export const TEST_RATE_LIMITS = {
  keyPerMinute: 10_000_000,
  workspacePerMinute: 10_000_000,
  runtimeKeyPerMinute: 10_000_000,
  runtimeWorkspacePerMinute: 10_000_000,
  runtimeItemsPerMinute: 1_000_000_000,
  runtimeWorkspaceItemsPerMinute: 1_000_000_000,
  anonymousPerMinute: 10_000_000,
  jwksPerMinute: 10_000_000,
  signInAttemptsPerAccountAddress: 1_000_000,
  signInAttemptsPerAccount: 1_000_000,
  signInAttemptsPerAddress: 1_000_000,
  emailsPerAccountPerHour: 1_000_000,
};

function keyMaker(sql: Sql, workspaceId: string): (role: Role, pools?: string[]) => Promise<string> {
  return async (role, pools) => {
    const { key } = await createApiKey(sql, { workspaceId, name: `test-${role}-${++keyCounter}`, role, pools });
    return key;
  };
}

/**
 * Another workspace on the database `sql` reaches (with its own `default` pool and an owner key), as
 * tenancy tests need one; it works against a database a separate API process serves too.
 */
export async function createTestWorkspace(sql: Sql): Promise<TestWorkspace> {
  const slug = `ws-${randomBytes(4).toString('hex')}`;
  const workspace = await ensureWorkspace(sql, slug, slug);
  await sql.begin(async (tx) => {
    if (!(await getPoolByName(tx, workspace.id, 'default'))) {
      await insertPool(tx, { workspaceId: workspace.id, name: 'default', description: null, concurrencyLimit: null });
    }
  });
  const { key } = await createApiKey(sql, { workspaceId: workspace.id, name: 'owner', role: 'owner' });
  return { workspaceId: workspace.id, ownerKey: key, createKey: keyMaker(sql, workspace.id) };
}

/** A test server's options: `overrides` over the defaults every test server starts with. */
function testServerOptions(overrides: Partial<ServerOptions>): ServerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    logLevel: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent',
    // Suites hammer the API from one key and one address; tests of the limits set their own.
    rateLimits: TEST_RATE_LIMITS,
    // Cheap hashes keep sign-in tests fast; the format and the checks are the production ones.
    passwordParams: { N: 2 ** 12, r: 8, p: 1 },
    // The single sign-on tests run their identity provider on 127.0.0.1 over plain HTTP.
    allowLoopbackOidc: true,
    ...overrides,
  };
}

/**
 * The API on 127.0.0.1, a free port and a database of its own, bootstrapped (workspace and pool
 * `default`, an owner key). Logs are silent unless OUTPOST_TEST_LOG_LEVEL is set.
 */
export async function startTestServer(overrides: Partial<ServerOptions> = {}): Promise<TestServer> {
  const db = await createTestDatabase();
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(testServerOptions({ ...overrides, databaseUrl: db.url }));
  } catch (error) {
    await db.drop();
    throw error;
  }
  const { sql } = server;
  const replicas: RunningServer[] = [];
  const boot = await server.bootstrap();
  if (!boot.ownerKey) throw new Error('a fresh test database already had an owner key');
  return {
    url: server.url,
    app: server.app,
    sql,
    databaseUrl: db.url,
    workspaceId: boot.workspaceId,
    ownerKey: boot.ownerKey,
    createKey: keyMaker(sql, boot.workspaceId),
    createWorkspace: () => createTestWorkspace(sql),
    startReplica: async (replicaOverrides = {}) => {
      const replica = await startServer(testServerOptions({ ...replicaOverrides, databaseUrl: db.url, sql }));
      replicas.push(replica);
      return { url: replica.url, app: replica.app, close: () => replica.close() };
    },
    close: async () => {
      try {
        for (const replica of replicas) await replica.close();
        await server.close();
      } finally {
        await db.drop();
      }
    },
  };
}
