import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSignInLink } from '@outpost/api';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { parseOptions, startWorker, type WorkerHandle } from '@outpost/worker';
import { build, stop as stopEsbuild } from 'esbuild';
import { pino } from 'pino';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { repoRoot } from './processes.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(repoRoot, 'test/artifacts/screenshots');
const FLOWS = fileURLToPath(new URL('../e2e/fixtures/dashboard-flows.ts', import.meta.url));

/**
 * Headless Chromium from Debian, with nothing that phones home. Its pages ask for reduced motion
 * unless a context says otherwise: a dashboard left open with a pulsing dot repaints it for as long
 * as it is open, and a suite keeps dozens of pages open on two cores. The dashboard honours the
 * preference (dashboard.accessibility checks both ways); no test watches anything move.
 */
export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  // `newPage()` opens its context through `newContext()`, so this covers both.
  const newContext = browser.newContext.bind(browser);
  browser.newContext = (options) => newContext({ reducedMotion: 'reduce', ...options });
  return browser;
}

/**
 * Console messages about the content security policy from every page it watches: the dashboard
 * must cause none, so a suite ends with `expect(policy.violations).toEqual([])`.
 */
export class PolicyWatch {
  readonly violations: string[] = [];

  watch(page: Page): Page {
    page.on('console', (message) => {
      if (/content security policy/i.test(message.text())) this.violations.push(message.text());
    });
    return page;
  }
}

/** Signs `page` in on the sign-in page with an API key and waits for the workspace to show. */
export async function signInWithKey(page: Page, baseUrl: string, key: string): Promise<void> {
  await page.goto(`${baseUrl}/#/sign-in`);
  await page.getByTestId('sign-in-api-key').fill(key);
  await page.getByTestId('sign-in-submit').click();
  await page.getByTestId('workspace-name').getByText('Default').waitFor();
}

/**
 * With OUTPOST_SCREENSHOTS=1, writes a full-page screenshot to test/artifacts/screenshots/<name>.png
 * (git-ignored) for a person to look at; otherwise does nothing. The pictures are for people, no test
 * reads them, and each costs the browser about a second of CPU: a hundred of them in a CI run.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.OUTPOST_SCREENSHOTS !== '1') return;
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Bundles the test flows as `outpost deploy` lays a bundle out and returns its `dir://` source. */
async function buildFlows(dir: string): Promise<{ source: string; entrypoint: string }> {
  await build({
    entryPoints: [FLOWS],
    outfile: join(dir, 'flows', 'dashboard-flows.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  // esbuild keeps a service process between builds; it must not outlive the test.
  await stopEsbuild();
  return { source: `dir://${dir}`, entrypoint: 'flows/dashboard-flows.ts' };
}

/** JSON schema of greet's parameters, as `outpost deploy` derives it from the flow's zod schema. */
const GREET_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, description: 'Who to greet' },
    times: { type: 'integer', minimum: 1, maximum: 10, default: 2 },
  },
  required: ['name'],
  additionalProperties: false,
};

export interface DashboardStack {
  server: TestServer;
  owner: OutpostClient;
  worker: WorkerHandle;
  /** Deployment ids by flow name: greet, forever, flaky. */
  deployments: Map<string, string>;
  /** A fresh one-time sign-in URL for an owner session. */
  signInUrl(): Promise<string>;
  close(): Promise<void>;
}

/** The real API (serving the built dashboard), the test flows deployed, and a real worker polling the default pool. */
export async function startDashboardStack(): Promise<DashboardStack> {
  const scratch = await mkdtemp(join(tmpdir(), 'outpost-dashboard-e2e-'));
  const server = await startTestServer();
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  let worker: WorkerHandle | null = null;
  const close = async () => {
    await worker?.stop({ graceMs: 0 });
    await owner.close();
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    const bundle = await buildFlows(join(scratch, 'bundle'));
    const deployments = new Map<string, string>();
    for (const flowName of ['greet', 'forever', 'flaky']) {
      const { deployment } = unwrap(
        await owner.call('deploymentsUpsert', {
          body: {
            flowName,
            name: 'e2e',
            source: bundle.source,
            entrypoint: bundle.entrypoint,
            workPool: 'default',
            ...(flowName === 'greet' ? { parameterSchema: GREET_SCHEMA, parameters: { times: 2 } } : {}),
          },
        }),
      );
      deployments.set(flowName, deployment.id);
    }
    const workerKey = await server.createKey('worker', ['default']);
    const options = parseOptions(
      [
        '--pool',
        'default',
        '--name',
        'dashboard-e2e',
        '--heartbeat-interval',
        '300ms',
        '--poll-wait',
        '1s',
        '--cancel-grace',
        '1s',
      ],
      {
        OUTPOST_API_URL: server.url,
        OUTPOST_API_KEY: workerKey,
        OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
        OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
        OUTPOST_WORKER_LOG_BATCH_INTERVAL: '50ms',
      },
    );
    worker = await startWorker(options, {
      logger: pino({ level: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent' }),
      env: { PATH: process.env.PATH ?? '', HOME: scratch },
    });
    return {
      server,
      owner,
      worker,
      deployments,
      signInUrl: () => ownerSignInUrl(server),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** What a fixture's `beforeAll` set, read in a test or hook; read before then, an error naming `what`. */
export function startedValue<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not started yet: use it inside a test or hook`);
  return value;
}

/** The stack of `startDashboardStack` and headless Chromium, for a file's tests and hooks. */
export interface DashboardStackFixture extends Omit<DashboardStack, 'close'> {
  readonly browser: Browser;
}

/**
 * Starts the dashboard stack and Chromium before the file's tests, and closes them after. Hooks the
 * file adds after this call run after the start and before the close.
 */
export function useDashboardStack(): DashboardStackFixture {
  let stack: DashboardStack | undefined;
  let browser: Browser | undefined;
  const started = <T>(value: T | undefined): T => startedValue(value, 'the dashboard stack');
  beforeAll(async () => {
    stack = await startDashboardStack();
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });
  return {
    get server() {
      return started(stack).server;
    },
    get owner() {
      return started(stack).owner;
    },
    get worker() {
      return started(stack).worker;
    },
    get deployments() {
      return started(stack).deployments;
    },
    signInUrl: () => started(stack).signInUrl(),
    get browser() {
      return started(browser);
    },
  };
}

/** A fresh one-time sign-in URL for an owner session in `server`'s workspace. */
export async function ownerSignInUrl(server: TestServer): Promise<string> {
  const link = await createSignInLink(server.sql, { workspaceId: server.workspaceId, role: 'owner' });
  return `${server.url}${link.path}`;
}

/** What a workspace suite of the dashboard stands on: the API, its owner's client and headless Chromium. */
export interface DashboardFixture {
  readonly server: TestServer;
  readonly owner: OutpostClient;
  readonly browser: Browser;
}

type ServerOptions = Parameters<typeof startTestServer>[0];

/**
 * Starts the API (`options` go to `startTestServer` as they are; given as a function, they are read
 * once the file's earlier `beforeAll` hooks have run), the owner's client and Chromium before the
 * file's tests, and closes them after. Hooks the file adds after this call run after the start and
 * before the close: a suite seeds in its own `beforeAll` and stops its worker in its own `afterAll`.
 */
export function useDashboard(options?: ServerOptions | (() => ServerOptions)): DashboardFixture {
  let server: TestServer | undefined;
  let owner: OutpostClient | undefined;
  let browser: Browser | undefined;
  const started = <T>(value: T | undefined): T => startedValue(value, 'the dashboard');
  beforeAll(async () => {
    server = await startTestServer(typeof options === 'function' ? options() : options);
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await owner?.close();
    await server?.close();
  });
  return {
    get server() {
      return started(server);
    },
    get owner() {
      return started(owner);
    },
    get browser() {
      return started(browser);
    },
  };
}

/**
 * A browser context signed in as an owner through a one-time link, on the page the link lands on;
 * `policy` watches the page from before it loads.
 */
export async function signedInPage(
  browser: Browser,
  to: Pick<DashboardStack, 'signInUrl'> | TestServer,
  policy?: PolicyWatch,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  const page = await context.newPage();
  policy?.watch(page);
  await page.goto('signInUrl' in to ? await to.signInUrl() : await ownerSignInUrl(to));
  await page.getByTestId('workspace-name').getByText('Default').waitFor();
  return { context, page };
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

let axeSource: Promise<string> | null = null;

/**
 * Runs axe-core on the page for the WCAG 2 A and AA rules and describes each violation in a line.
 * axe-core is injected as an inline script, which the dashboard's policy refuses: the page's
 * context must be made with `bypassCSP: true`.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: await axeSource });
  const violations = await page.evaluate(async () => {
    const g = globalThis as unknown as {
      axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> };
      document: unknown;
    };
    const result = await g.axe.run(g.document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
      resultTypes: ['violations'],
    });
    return result.violations;
  });
  return violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`.trim()),
  );
}
