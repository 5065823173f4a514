import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OutpostClient } from '@outpost/sdk/client';
import { DEFAULT_PORT } from '@outpost/sdk/contracts';
import { Api } from '../api.js';
import type { Command, CommandContext } from '../command.js';
import { booleanOption, stringOption } from '../command.js';
import { DeployLedger } from '../deploy-ledger.js';
import { type DeployResult, deployProject, ensurePool, type PlannedDeployment } from '../deploy-project.js';
import { type DevCredentials, readDevCredentials, writeDevCredentials } from '../dev-credentials.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { interruptSignal } from '../follow.js';
import { CONTROL_PLANE, importOptional } from '../handover.js';
import { exampleDir } from '../packages.js';
import { TypeCheckError } from '../typecheck.js';
import { TypecheckCache } from '../typecheck-cache.js';
import { type ProjectWatch, watchProjects } from '../watch-projects.js';

interface RunningServer {
  url: string;
  port: number;
  sql: unknown;
  close(): Promise<void>;
  bootstrap(): Promise<{ workspaceId: string; ownerKey: string | null }>;
}

interface ApiPackage {
  startServer(options: {
    databaseUrl?: string;
    dataDir?: string;
    host?: string;
    port?: number;
    logLevel?: string;
    secretKey?: string;
    mail?: { smtpUrl: string; from: string };
  }): Promise<RunningServer>;
  createApiKey(
    sql: unknown,
    options: { workspaceId: string; name: string; role: string; pools?: string[] },
  ): Promise<{ id: string; key: string }>;
  createSignInLink(
    sql: unknown,
    options: { workspaceId: string; role: string; ttlSeconds?: number; userId?: string },
  ): Promise<{ token: string; path: string; expiresAt: Date }>;
  ensureLocalOwner(
    sql: unknown,
    options: { workspaceId: string; email: string; publicUrl: string },
  ): Promise<{ userId: string; email: string; passwordLink: string | null }>;
  isStartupError(error: unknown): error is Error & { line(): string };
}

/** The person `npm start` makes: owner of the local workspace and its organisation, address confirmed. */
const LOCAL_OWNER_EMAIL = 'owner@localhost';

interface RunningWorker {
  /** `graceMs: 0` stops the running flows at once (they are still recorded as ended). */
  stop(options?: { graceMs?: number }): Promise<unknown>;
  done: Promise<unknown>;
}

interface WorkerHooks {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onRunStarted?: (run: { runId: string; attempt: number }) => void;
  onRunFinished?: (outcome: { runId: string; attempt: number; ending: string; state: string | null }) => void;
}

interface WorkerPackage {
  parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): unknown;
  startWorker(options: unknown, hooks?: WorkerHooks): Promise<RunningWorker>;
}

/** How long the sign-in link printed at start stays usable. */
const SIGN_IN_LINK_SECONDS = 15 * 60;

/** The work pool the local worker polls; every deployment `outpost dev` registers goes there. */
const LOCAL_POOL = 'local';

/** How long a run in progress at Ctrl-C gets to finish before the local worker stops it. */
const DRAIN_GRACE_SECONDS = 20;

/** What `npm start` deploys: the smallest project, and the ML pipeline that shows the rest. */
const EXAMPLES = ['hello', 'ml-pipeline'];

function isExample(dir: string): boolean {
  return EXAMPLES.some((name) => exampleDir(name) === dir);
}

/**
 * What `outpost dev` deploys without `--project`: the project in the current directory when it has an
 * `outpost.config.ts` (an installed CLI, in the user's project); else, in a clone of the repository,
 * the SDK's examples. The published SDK ships no examples, so outside a clone with no project here
 * there is nothing to deploy, and it says what to do.
 */
function defaultProjects(cwd: string): string[] {
  if (existsSync(join(cwd, 'outpost.config.ts'))) return [cwd];
  const examples = EXAMPLES.map(exampleDir);
  if (examples.some((dir) => existsSync(join(dir, 'outpost.config.ts')))) return examples;
  throw new UsageError(`no outpost.config.ts in ${cwd}: run \`npx outpost init\` here first, or pass --project <dir>`);
}

export const dev: Command = {
  name: 'dev',
  summary: 'Run everything locally: API on embedded Postgres, a worker, and the example flows deployed',
  usesApi: false,
  options: {
    port: { type: 'string', placeholder: '<port>', description: `API port (env OUTPOST_PORT; default ${DEFAULT_PORT})` },
    project: {
      type: 'string',
      placeholder: '<dir>',
      description: `deploy this project (default: the current directory's, else the examples in a clone; its deployments go to the pool "${LOCAL_POOL}")`,
    },
    'database-url': { type: 'string', placeholder: '<url>', description: 'use this Postgres instead of the embedded one' },
    watch: { type: 'boolean', description: 'redeploy a project to the local platform whenever one of its files changes' },
    'no-typecheck': { type: 'boolean', description: 'deploy without type-checking the entrypoints first' },
  },
  notes: [
    "State lives in ./.outpost: Postgres data, the local registry, the bundle cache, the ML example's asset values (assets/), cached task results (results/), credentials.json and secret-key (mode 0600; it seals the signing keys in the database), and deployed.json: what was last registered, so a restart re-registers only deployments whose code or config changed (schedules and limits changed on the server stay).",
    `The worker polls the work pool "${LOCAL_POOL}" (created if missing) with a key limited to it; every deployment is registered there, whatever pool its config names.`,
  ],
  async run(ctx) {
    const port = parsePort(stringOption(ctx.values, 'port') ?? ctx.env.OUTPOST_PORT);
    const home = resolve(ctx.cwd, '.outpost');
    const project = stringOption(ctx.values, 'project');
    const projectDirs = project ? [resolve(ctx.cwd, project)] : defaultProjects(ctx.cwd);
    let worker: RunningWorker | null = null;
    /** Runs the local worker is running now, for what Ctrl-C says. */
    const active = new Set<string>();
    // A second Ctrl-C stops the runs at once; they are still recorded as ended before the API and Postgres stop.
    const interrupted = ctx.interrupts(() => {
      if (active.size > 0) ctx.err('stopping the running flows now…');
      void worker?.stop({ graceMs: 0 });
    });
    const stopping = interruptSignal(ctx.interrupts);
    const api = await importOptional<ApiPackage>(CONTROL_PLANE, '`outpost dev`');
    const workerPkg = await importOptional<WorkerPackage>('@outpost/worker', '`outpost dev`');

    const databaseUrl = stringOption(ctx.values, 'database-url') ?? ctx.env.DATABASE_URL;
    ctx.err(databaseUrl ? 'starting the API on DATABASE_URL…' : 'starting the API (embedded Postgres under .outpost/pg)…');
    // Request logs would drown the banner; OUTPOST_LOG_LEVEL=info brings them back.
    const logLevel = ctx.env.OUTPOST_LOG_LEVEL ?? 'warn';
    // Seals the run-token signing keys (and OIDC client secrets) in the database: made once, kept beside it.
    const secretKey = ctx.env.OUTPOST_SECRET_KEY ?? (await localSecretKey(join(home, 'secret-key')));
    // Mail goes out only when a mail server is named; without one the server prints its links to its log.
    const smtpUrl = ctx.env.OUTPOST_SMTP_URL;
    const mail = smtpUrl ? { smtpUrl, from: ctx.env.OUTPOST_MAIL_FROM ?? 'Outpost <outpost@localhost>' } : undefined;
    const server = await startServer(api, { port, dataDir: join(home, 'pg'), databaseUrl, logLevel, secretKey, mail });
    let watching: ProjectWatch | null = null;
    try {
      const { credentials, firstStart } = await ensureCredentials(api, server, join(home, 'credentials.json'));
      const deployed: DeployResult[] = [];
      // Each start re-registers only what changed since the last: schedules and limits changed on the
      // server (dashboard, CLI) stay, as long as the deployment's code and config have not changed.
      const ledger = await DeployLedger.open(join(home, 'deployed.json'));
      // A restart with nothing changed skips the type-checks, most of its time; any change checks again.
      const typecheckCache = await TypecheckCache.open(join(home, 'typecheck.json'));
      const deploy = async (projectDir: string, progress: (line: string) => void) => {
        const session = new Api({ apiUrl: server.url, apiKey: credentials.ownerKey });
        try {
          return await deployProject({
            config: projectDir,
            cwd: ctx.cwd,
            env: ctx.env,
            dryRun: false,
            registry: `oci-layout://${join(home, 'registry')}`,
            // The examples name the pool `default`, for a real deploy; here only the local worker runs them.
            pool: LOCAL_POOL,
            typecheck: !booleanOption(ctx.values, 'no-typecheck'),
            typecheckCache,
            ledger,
            api: () => session,
            progress,
          });
        } finally {
          await session.close();
        }
      };
      const session = new Api({ apiUrl: server.url, apiKey: credentials.ownerKey });
      try {
        // Before any deploy: the worker needs its pool even when no project is deployed.
        await ensurePool(session, LOCAL_POOL, (line) => ctx.err(`  ${line}`), 'The worker that `npm start` runs on this machine');
      } finally {
        await session.close();
      }
      // The projects deploy at once (their bundles build and their flows load side by side); the
      // lines of each are printed together and in order, as if they had deployed one after another.
      const output = new OrderedLines(projectDirs.length, (line) => ctx.err(line));
      const deploying = projectDirs.map((projectDir, i) => {
        if (!existsSync(join(projectDir, 'outpost.config.ts'))) {
          output.line(i, `no outpost.config.ts in ${projectDir}; nothing deployed`);
          output.done(i);
          return null;
        }
        return deploy(projectDir, (line) => output.line(i, `  ${line}`)).then(
          (result) => {
            output.done(i);
            return result;
          },
          (error: unknown) => {
            if (error instanceof TypeCheckError) for (const line of error.diagnostics) output.line(i, `  ${line}`);
            output.done(i);
            throw error;
          },
        );
      });
      // Every deploy has ended before the first failure (in the projects' order) stops the start.
      const settled = await Promise.allSettled(deploying);
      for (const outcome of settled) {
        if (outcome.status === 'rejected') throw outcome.reason;
        if (outcome.value) deployed.push(outcome.value);
      }

      worker = await startLocalWorker(workerPkg, server.url, credentials.workerKey, home, ctx, stopping, active);
      // A person with a confirmed address, so the Organisation pages work here without a mail server.
      const localOwner = await api.ensureLocalOwner(server.sql, {
        workspaceId: credentials.workspaceId,
        email: LOCAL_OWNER_EMAIL,
        publicUrl: server.url,
      });
      // A fresh single-use link on every start: it opens a dashboard session as that person, once,
      // with the Organisation pages as well as the workspace's.
      const signIn = await api.createSignInLink(server.sql, {
        workspaceId: credentials.workspaceId,
        role: 'owner',
        ttlSeconds: SIGN_IN_LINK_SECONDS,
        userId: localOwner.userId,
      });
      printBanner(
        ctx,
        server.url,
        credentials.ownerKey,
        firstStart,
        deployed,
        `${server.url}${signIn.path}`,
        project || !projectDirs.some(isExample) ? 'project' : 'examples',
        localOwner,
      );
      if (booleanOption(ctx.values, 'watch')) {
        const watched = projectDirs.filter((dir) => existsSync(join(dir, 'outpost.config.ts')));
        watching = watchProjects(watched, async (projectDir) => {
          try {
            const result = await deploy(projectDir, () => {});
            const changed = result.deployments.filter((d) => !d.unchanged);
            const names = changed.map((d) => `${d.flow}/${d.name}`).join(', ');
            if (changed.length === 0) ctx.err(`${result.project}: ${describeChanges(result.deployments)}; nothing redeployed`);
            else ctx.err(`redeployed ${result.project}: ${names} (${result.source ?? 'no source'})`);
          } catch (error) {
            // A half-saved file or a type error: say it in one line (then each type error in one) and
            // keep watching; the version deployed before keeps running.
            ctx.err(`redeploy of ${projectDir} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
            if (error instanceof TypeCheckError) for (const line of error.diagnostics) ctx.err(`  ${line}`);
          }
        });
        ctx.err(`watching ${watched.length} project${watched.length === 1 ? '' : 's'}: a saved change redeploys it`);
      }

      const outcome = await Promise.race([
        interrupted.then((signal) => ({ kind: 'signal' as const, signal })),
        worker.done.then(
          () => ({ kind: 'worker-stopped' as const }),
          (error: unknown) => ({ kind: 'worker-failed' as const, error }),
        ),
      ]);
      if (outcome.kind === 'signal')
        ctx.err(
          active.size === 0
            ? `\n${outcome.signal}: stopping…`
            : `\n${outcome.signal}: stopping; ${active.size === 1 ? 'the run in progress gets' : `the ${active.size} runs in progress get`} up to ${DRAIN_GRACE_SECONDS} s to finish (Ctrl-C again to stop ${active.size === 1 ? 'it' : 'them'} now)`,
        );
      else if (outcome.kind === 'worker-failed')
        ctx.err(`the worker failed: ${(outcome.error as Error).message ?? outcome.error}`);
      else ctx.err('the worker stopped; shutting down…');
      return outcome.kind === 'signal' ? EXIT.ok : EXIT.failed;
    } finally {
      watching?.close();
      if (worker) await worker.stop().catch((error: unknown) => ctx.err(`worker: ${(error as Error).message}`));
      await server.close().catch((error: unknown) => ctx.err(`server: ${(error as Error).message}`));
      ctx.err('stopped');
    }
  },
};

/**
 * Lines from several sources at once, printed as if the sources had run one after another: the
 * first unfinished source's lines at once, each later one's held until those before it are done.
 */
class OrderedLines {
  readonly #held: string[][];
  readonly #finished: boolean[];
  #current = 0;

  constructor(
    sources: number,
    private readonly print: (line: string) => void,
  ) {
    this.#held = Array.from({ length: sources }, () => []);
    this.#finished = Array.from({ length: sources }, () => false);
  }

  line(source: number, text: string): void {
    if (source === this.#current) this.print(text);
    else this.#held[source]?.push(text);
  }

  done(source: number): void {
    this.#finished[source] = true;
    while (this.#current < this.#finished.length && this.#finished[this.#current]) {
      this.#current++;
      for (const text of this.#held[this.#current] ?? []) this.print(text);
      this.#held[this.#current] = [];
    }
  }
}

/** The local platform's OUTPOST_SECRET_KEY: read from `path`, or made there (mode 0600) on the first start. */
async function localSecretKey(path: string): Promise<string> {
  try {
    const stored = (await readFile(path, 'utf8')).trim();
    if (stored.length >= 32) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32).toString('base64url');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${key}\n`, { mode: 0o600 });
  return key;
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--port (or OUTPOST_PORT) must be a port number, got "${raw}"`);
  return port;
}

async function startServer(
  api: ApiPackage,
  options: {
    port: number;
    dataDir: string;
    databaseUrl: string | undefined;
    logLevel: string;
    secretKey: string;
    mail: { smtpUrl: string; from: string } | undefined;
  },
): Promise<RunningServer> {
  try {
    return await api.startServer({
      host: '127.0.0.1',
      port: options.port,
      logLevel: options.logLevel,
      secretKey: options.secretKey,
      ...(options.mail ? { mail: options.mail } : {}),
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : { dataDir: options.dataDir }),
    });
  } catch (error) {
    // A port in use, an unreachable database, a directory it cannot write: one line that says what to do.
    if (api.isStartupError(error)) throw new CliError(error.line(), EXIT.failed, [], { cause: error });
    throw new CliError('the API did not start', EXIT.failed, [(error as Error).message], { cause: error });
  }
}

/**
 * Keys survive restarts in credentials.json; a stored key is reused only while the API still
 * accepts it for this workspace (a wiped database invalidates it, and new keys are made).
 */
async function ensureCredentials(
  api: ApiPackage,
  server: RunningServer,
  path: string,
): Promise<{ credentials: DevCredentials; firstStart: boolean }> {
  const { workspaceId, ownerKey: bootstrapped } = await server.bootstrap();
  const stored = await readDevCredentials(path);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  let ownerKey = bootstrapped;
  let firstStart = bootstrapped !== null;
  if (!ownerKey && stored && (await authenticates(server.url, stored.ownerKey, workspaceId))) ownerKey = stored.ownerKey;
  if (!ownerKey) {
    ownerKey = (await api.createApiKey(server.sql, { workspaceId, name: `local-owner-${stamp}`, role: 'owner' })).key;
    firstStart = true;
  }
  let workerKey = stored?.workerKey;
  if (!workerKey || !(await pollsOnlyLocalPool(server.url, ownerKey, workerKey, workspaceId))) {
    workerKey = (
      await api.createApiKey(server.sql, {
        workspaceId,
        name: `local-worker-${stamp}`,
        role: 'worker',
        pools: [LOCAL_POOL],
      })
    ).key;
  }
  const credentials = { workspaceId, ownerKey, workerKey };
  await writeDevCredentials(path, credentials);
  return { credentials, firstStart };
}

async function authenticates(url: string, key: string, workspaceId: string): Promise<boolean> {
  const client = new OutpostClient({ baseUrl: url, token: key, timeoutMs: 10_000 });
  try {
    const me = await client.call('whoami', {});
    return me.ok && me.data.workspace.id === workspaceId;
  } finally {
    await client.close();
  }
}

/**
 * Whether the stored worker key still works here and may poll exactly the local pool. A key that
 * works but is limited to other pools (an older `.outpost` made one for `default`) is revoked, so
 * the caller's replacement is the only worker key left behind.
 */
async function pollsOnlyLocalPool(url: string, ownerKey: string, workerKey: string, workspaceId: string): Promise<boolean> {
  const worker = new OutpostClient({ baseUrl: url, token: workerKey, timeoutMs: 10_000 });
  const owner = new OutpostClient({ baseUrl: url, token: ownerKey, timeoutMs: 10_000 });
  try {
    const me = await worker.call('whoami', {});
    if (!me.ok || me.data.workspace.id !== workspaceId || me.data.principal.kind !== 'api_key') return false;
    const keys = await owner.call('apiKeysList', {});
    if (!keys.ok) return false;
    const key = keys.data.items.find((k) => k.id === me.data.principal.id);
    if (key?.role !== 'worker') return false;
    if (key.pools.length === 1 && key.pools[0] === LOCAL_POOL) return true;
    await owner.call('apiKeysRevoke', { params: { id: key.id } });
    return false;
  } finally {
    await Promise.all([worker.close(), owner.close()]);
  }
}

async function startLocalWorker(
  pkg: WorkerPackage,
  apiUrl: string,
  apiKey: string,
  home: string,
  ctx: CommandContext,
  signal: AbortSignal,
  active: Set<string>,
) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined && env[k] === undefined) env[k] = v;
  env.OUTPOST_API_URL = apiUrl;
  env.OUTPOST_API_KEY = apiKey;
  // The example reads this secret; without one the worker would fail its runs. A random value
  // shows the redaction: the line that prints it reaches the API with the value masked.
  env.GREETING_SECRET ??= `local-${randomBytes(6).toString('hex')}`;
  // The ML example signs its model with this one; a random key per start is enough locally.
  env.MODEL_SIGNING_KEY ??= randomBytes(24).toString('base64url');
  // Its asset values (daily exports, model, scores, card) stay with the rest of the local state.
  env.CHURN_ASSET_DIR ??= join(home, 'assets');
  const argv = [
    '--pool',
    LOCAL_POOL,
    '--name',
    `local-${hostname()}`,
    '--cache-dir',
    join(home, 'cache'),
    '--spool-dir',
    join(home, 'spool'),
    '--drain-grace',
    `${DRAIN_GRACE_SECONDS}s`,
  ];
  // Flags replace OUTPOST_WORKER_PASS_ENV, so the variables it names are passed as flags too.
  const passEnv = (env.OUTPOST_WORKER_PASS_ENV ?? '').split(',').map((name) => name.trim());
  for (const name of new Set(['CHURN_ASSET_DIR', ...passEnv.filter(Boolean)])) argv.push('--pass-env', name);
  // Task results cached by the flows (the ML example caches its validation) stay under .outpost too.
  if (!env.OUTPOST_WORKER_RESULT_STORAGE) argv.push('--result-storage', pathToFileURL(join(home, 'results')).href);
  // The worker's own logs would drown the banner too; one line per run says what it does instead.
  if (!env.OUTPOST_LOG_LEVEL) argv.push('--log-level', 'warn');
  // Its lines share the terminal with the banner: readable ones, even when piped, unless asked otherwise.
  if (!env.OUTPOST_LOG_FORMAT) argv.push('--log-format', 'pretty');
  let options: unknown;
  try {
    options = pkg.parseOptions(argv, env);
  } catch (error) {
    throw new CliError('the local worker is misconfigured', EXIT.usage, [(error as Error).message]);
  }
  return pkg.startWorker(options, {
    env,
    // Ctrl-C while the worker still waits for the API must not hang the shutdown.
    signal,
    onRunStarted: (run) => {
      active.add(`${run.runId}/${run.attempt}`);
      ctx.err(`worker: started run ${run.runId} (attempt ${run.attempt})`);
    },
    onRunFinished: (outcome) => {
      active.delete(`${outcome.runId}/${outcome.attempt}`);
      ctx.err(
        `worker: run ${outcome.runId} finished ${outcome.state ?? 'in an unknown state'}${outcome.ending === 'reported' ? '' : ` (${outcome.ending === 'drain' ? 'stopped with the local server' : outcome.ending})`}`,
      );
    },
  });
}

function printBanner(
  ctx: CommandContext,
  url: string,
  ownerKey: string,
  firstStart: boolean,
  deployed: readonly DeployResult[],
  signInUrl: string,
  what: 'examples' | 'project',
  localOwner: { email: string; passwordLink: string | null },
): void {
  const first = deployed[0]?.deployments[0];
  const pipeline = deployed.flatMap((d) => d.deployments).find((d) => d.flow === 'assets' && d.name === 'churn');
  const lines = [
    '',
    'Outpost is running.',
    `  dashboard: ${signInUrl}`,
    `             (one-time sign-in link as ${localOwner.email}, valid ${SIGN_IN_LINK_SECONDS / 60} minutes; each start prints a new one)`,
    `  person:    ${localOwner.email}, owner of the workspace and its organisation (address confirmed)${
      localOwner.passwordLink
        ? `; to sign in without the link, choose its password at ${localOwner.passwordLink} (30 minutes)`
        : '; its password signs in too ("Forgot password?" prints a link to the log)'
    }`,
    `  API:       ${url}`,
    `  owner key: ${ownerKey}${firstStart ? '  (stored in .outpost/credentials.json, mode 0600)' : ''}`,
    `  worker:    polling pool "${LOCAL_POOL}"`,
    ...deployed.flatMap((project) => project.deployments.map((d) => `  deployed:  ${d.flow}/${d.name} → ${project.source}`)),
    ...(deployed.length > 0 ? [`  ${`${what}:`.padEnd(10)} ${describeChanges(deployed.flatMap((p) => p.deployments))}`] : []),
    '',
    'Try, in another terminal:',
    `  export OUTPOST_API_URL=${url} OUTPOST_API_KEY=${ownerKey}`,
    ...(first ? [`  npx outpost run ${first.flow}/${first.name} --param n=3 --watch`] : []),
    ...(pipeline
      ? [
          `  npx outpost run ${pipeline.flow}/${pipeline.name} --watch    # the ML example's assets: a week of data, model, gate, scores, card`,
        ]
      : []),
    '  npx outpost runs ls',
    `  npx outpost workers ls --pool ${LOCAL_POOL}`,
    '  npx outpost init ../my-pipeline    # a project of your own, next to this one',
    '',
    'Ctrl-C stops everything.',
  ];
  for (const line of lines) ctx.out(line);
}

/** `3 deployments unchanged, 1 updated`: what this start (or save) registered, and what it left alone. */
function describeChanges(deployments: readonly PlannedDeployment[]): string {
  const unchanged = deployments.filter((d) => d.unchanged).length;
  const created = deployments.filter((d) => !d.unchanged && d.created).length;
  const counts: [number, string][] = [
    [unchanged, 'unchanged'],
    [deployments.length - unchanged - created, 'updated'],
    [created, 'created'],
  ];
  const parts = counts.filter(([n]) => n > 0);
  if (parts.length === 0) return 'no deployments';
  return parts.map(([n, what], i) => (i === 0 ? `${n} deployment${n === 1 ? '' : 's'} ${what}` : `${n} ${what}`)).join(', ');
}
