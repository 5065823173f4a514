import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '@outpost/api';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bashBlocks,
  cloneAt,
  type Job,
  markdownSection,
  processesUnder,
  sh,
  snapshotCommit,
  startJob,
  type User,
} from '../support/newcomer.js';
import { repoRoot } from '../support/processes.js';
import { waitFor } from '../support/worker-process.js';

const README = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

/** The `npx outpost …` commands this suite has typed, as the README shows them. */
const typed = new Set<string>();

/** Every command this suite types is one the README shows, word for word. */
function fromReadme(line: string): string {
  expect(README, `README.md should show \`${line}\``).toContain(line);
  typed.add(line);
  return line;
}

/**
 * Every `npx outpost …` command the tour shows, in code blocks and inline code alike, with the
 * placeholders (`<id>`, `<run>`) as written: the suite must type each one.
 */
function tourCommands(): string[] {
  const tour = markdownSection(README, 'README.md', '## A ten-minute tour');
  const commands = new Set<string>();
  for (const match of tour.matchAll(/`(npx outpost [^`\n]+)`/g)) commands.add(match[1]!.trim());
  for (const command of bashBlocks(tour).flat()) if (command.startsWith('npx outpost ')) commands.add(command);
  return [...commands];
}

/** The run id a command printed on a line of its own. */
function printedId(output: string): string {
  const id = output.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/m)?.[0];
  expect(id, output).toBeTruthy();
  return id!;
}

/**
 * Who walks the tour. Run as root, the suite walks it twice: as root in a private directory (where
 * Postgres runs in a user namespace), and as an ordinary user (`nobody`, with a home of its own),
 * where it runs as that user.
 */
interface Walker {
  label: string;
  user: User;
  /** The home directory of the terminal, for npm's cache. */
  home(root: string): string;
}

const ROOT_IS_RUNNING = userInfo().uid === 0;
const NOBODY = 65534;
/**
 * The walk times nothing, and end-to-end files that do (an outage, chaos) run beside it: its
 * commands run at the lowest priority and take only the CPU those files leave idle.
 */
const NICE = 19;

const WALKERS: Walker[] = ROOT_IS_RUNNING
  ? [
      { label: 'as root in a private directory', user: { nice: NICE }, home: () => process.env.HOME ?? userInfo().homedir },
      { label: 'as an ordinary user', user: { uid: NOBODY, gid: NOBODY, nice: NICE }, home: (root) => path.join(root, 'home') },
    ]
  : [{ label: `as ${userInfo().username}`, user: { nice: NICE }, home: () => process.env.HOME ?? userInfo().homedir }];

/**
 * A new user's terminal: no OUTPOST_* or DATABASE_URL of the developer's, npm reading from its
 * cache first (the test talks to no registry it need not), no telemetry from turbo.
 */
function terminal(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    TURBO_TELEMETRY_DISABLED: '1',
    DO_NOT_TRACK: '1',
    ...extra,
  };
}

/** Hands `dir` and everything in it to `user` (when the suite runs as root for another user). */
function giveTo(dir: string, user: User): void {
  if (user.uid === undefined) return;
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
}

const commit = snapshotCommit();

// The walkers (root and an ordinary user, when the suite runs as root) go side by side, each in its
// own clone, home and port: most of a walk is npm installing and a build waiting on the disk. Within
// a walk the steps run in order.
describe.concurrent.each(WALKERS)('the README tour, on a fresh clone, $label', (walker) => {
  let root: string;
  let clone: string;
  let home: string;
  let platform: Job | null = null;
  let port: number;
  const { user } = walker;
  const term = (extra: Record<string, string> = {}) => terminal(home, extra);

  beforeAll(async () => {
    // mkdtemp makes a private (0700) directory: as root, the case that once failed.
    root = mkdtempSync(path.join(tmpdir(), 'outpost-newcomer-'));
    clone = path.join(root, 'outpost');
    cloneAt(commit, clone);
    home = walker.home(root);
    if (user.uid !== undefined) {
      // An ordinary user with a home of its own, and npm's cache copied there so nothing is downloaded again.
      mkdirSync(home, { recursive: true });
      const cache = path.join(process.env.HOME ?? userInfo().homedir, '.npm', '_cacache');
      if (existsSync(cache)) cpSync(cache, path.join(home, '.npm', '_cacache'), { recursive: true });
      giveTo(root, user);
    }
    port = await freePort();
  });
  afterAll(async () => {
    await platform?.interrupt();
    rmSync(root, { recursive: true, force: true });
  });

  it.sequential('runs in a private directory of its own, its commands at the lowest CPU priority', async () => {
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(statSync(clone).uid).toBe(user.uid ?? userInfo().uid);
    // The files beside the walk time outages: it must take only the CPU they leave idle.
    expect((await sh('nice', clone, term(), user)).output.trim()).toBe(String(NICE));
  });

  it.sequential('installs with npm ci, and `npx outpost --help` works before anything is built', async () => {
    expect(fromReadme('npm ci && npm start')).toBeTruthy();
    const install = await sh('npm ci', clone, term(), user);
    expect(install.code, install.output).toBe(0);
    const help = await sh('npx outpost --help', clone, term(), user);
    expect(help.code, help.output).toBe(0);
    expect(help.output).toMatch(/init \[dir\]/);
    expect(help.output).toContain('building the workspace first');
  }, 420_000); // a cold npm cache downloads every dependency of the workspace: minutes on a slow registry day

  it.sequential('starts the platform with npm start and prints the sign-in link, API URL and key', async () => {
    platform = startJob('npm start', clone, term({ OUTPOST_PORT: String(port) }), user);
    await platform.waitFor(/Ctrl-C stops everything\./, 300_000);
    const out = platform.output();
    expect(out).toMatch(new RegExp(`dashboard: http://127\\.0\\.0\\.1:${port}/\\S*sign-in\\S*`));
    expect(out).toContain(`API:       http://127.0.0.1:${port}`);
    expect(out).toMatch(/owner key: op_[0-9A-Za-z]+/);
    expect(out).toContain('deployed:  hello/default');
  });

  describe.sequential('in a second terminal', () => {
    let env: NodeJS.ProcessEnv;
    let project: string;

    beforeAll(() => {
      const exported = platform?.output().match(/export OUTPOST_API_URL=(\S+) OUTPOST_API_KEY=(\S+)/);
      expect(exported).toBeTruthy();
      // The banner's line is the README's, with this start's values.
      expect(README).toContain('export OUTPOST_API_URL=http://127.0.0.1:4200 OUTPOST_API_KEY=op_…');
      env = term({ OUTPOST_API_URL: exported![1]!, OUTPOST_API_KEY: exported![2]! });
      project = path.join(root, 'my-pipeline');
    });

    it.sequential('runs the hello example to COMPLETED, its secret redacted', async () => {
      const run = await sh(fromReadme('npx outpost run hello/default --param n=5 --watch'), clone, env, user);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/ended COMPLETED/);
      expect(run.output).toContain('greeting secret: ***');
    });

    it.sequential('cancels a slow run while it runs, retries it as attempt 2, shows its manifest, reproduces it and lists its events', async () => {
      const api = new OutpostClient({ baseUrl: env.OUTPOST_API_URL!, token: env.OUTPOST_API_KEY! });
      const stateOf = async (id: string) => unwrap(await api.call('flowRunsGet', { params: { id } }));
      const reach = (id: string, state: string) =>
        waitFor(async () => ((await stateOf(id)).state.type === state ? true : null), 60_000, `run ${id} to be ${state}`);
      const slow = fromReadme('npx outpost run hello/default --param n=60 --param pauseSeconds=1');
      const cancel = fromReadme('npx outpost runs cancel <id>');
      try {
        const started = await sh(slow, clone, env, user);
        expect(started.code, started.output).toBe(0);
        const id = printedId(started.output);
        await reach(id, 'RUNNING');
        const cancelled = await sh(cancel.replace('<id>', id), clone, env, user);
        expect(cancelled.code, cancelled.output).toBe(0);
        await reach(id, 'CANCELLED');

        const retried = await sh(fromReadme('npx outpost runs retry <id>').replace('<id>', id), clone, env, user);
        expect(retried.code, retried.output).toBe(0);
        expect(retried.output).toContain('attempt 2');
        await reach(id, 'RUNNING');
        expect((await stateOf(id)).attempt).toBe(2);
        expect((await sh(cancel.replace('<id>', id), clone, env, user)).code).toBe(0);
        await reach(id, 'CANCELLED');

        const manifest = await sh(fromReadme('npx outpost runs manifest <run>').replace('<run>', id), clone, env, user);
        expect(manifest.code, manifest.output).toBe(0);
        expect(manifest.output).toContain('pauseSeconds');
        expect(manifest.output).toMatch(/code digest:\s+sha256:[0-9a-f]{64}/);

        const reproduced = await sh(fromReadme('npx outpost runs reproduce <run>').replace('<run>', id), clone, env, user);
        expect(reproduced.code, reproduced.output).toBe(0);
        const copy = printedId(reproduced.output);
        expect(copy).not.toBe(id);
        await reach(copy, 'RUNNING');
        expect((await sh(cancel.replace('<id>', copy), clone, env, user)).code).toBe(0);
        await reach(copy, 'CANCELLED');

        const events = await sh(fromReadme("npx outpost events ls --kind 'flow-run.*'"), clone, env, user);
        expect(events.code, events.output).toBe(0);
        expect(events.output).toContain('flow-run.cancelled');
      } finally {
        await api.close();
      }
    });

    it.sequential("changes the hello deployment's schedule and concurrency limit from the terminal", async () => {
      const schedule = await sh(
        fromReadme('npx outpost schedules update hello/default weekday-morning --cron "0 6 * * 1-5" --timezone Europe/Berlin'),
        clone,
        env,
        user,
      );
      expect(schedule.code, schedule.output).toBe(0);
      const listed = await sh('npx outpost schedules ls hello/default', clone, env, user);
      expect(listed.code, listed.output).toBe(0);
      expect(listed.output).toContain('weekday-morning');
      expect(listed.output).toContain('Europe/Berlin');
      const limit = await sh(fromReadme('npx outpost deployments set-concurrency hello/default 2'), clone, env, user);
      expect(limit.code, limit.output).toBe(0);
      expect(limit.output).toContain('deployment hello/default runs at most 2 at once');
    });

    it.sequential('runs the ML example, an asset graph, to COMPLETED', async () => {
      const run = await sh(fromReadme('npx outpost run assets/churn --watch'), clone, env, user);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/ended COMPLETED/);
      const assets = await sh(fromReadme('npx outpost assets ls'), clone, env, user);
      expect(assets.code, assets.output).toBe(0);
      for (const key of [
        'customers/raw',
        'customers/features',
        'churn/model',
        'churn/evaluation',
        'churn/scores',
        'churn/model-card',
      ]) {
        expect(assets.output).toContain(key);
      }
    });

    it.sequential('creates a project next to the clone that targets the pool the local worker polls', async () => {
      const init = await sh(fromReadme('npx outpost init ../my-pipeline'), clone, env, user);
      expect(init.code, init.output).toBe(0);
      expect(init.output).toContain('on pool "local"');
      expect(readFileSync(path.join(project, 'outpost.config.ts'), 'utf8')).toContain("pool: 'local'");
      const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
        devDependencies: Record<string, string>;
      };
      expect(pkg.dependencies['@outpost/sdk']).toBe('file:../outpost/sdk');
      expect(pkg.devDependencies['@outpost/cli']).toBe('file:../outpost/cli');
      expect(pkg.devDependencies.typescript).toBeTruthy();
      expect(pkg.devDependencies.vitest).toBeTruthy();
      expect(readFileSync(path.join(project, 'tsconfig.json'), 'utf8')).toContain('"strict": true');
    });

    it.sequential('installs the project, tests its flow with no server, and type-checks it', async () => {
      expect(fromReadme('cd ../my-pipeline')).toBeTruthy();
      const install = await sh(fromReadme('npm install'), project, env, user);
      expect(install.code, install.output).toBe(0);
      const test = await sh(fromReadme('npm test'), project, term(), user);
      expect(test.code, test.output).toBe(0);
      expect(test.output).toMatch(/3 passed/);
      const types = await sh('npm run typecheck', project, env, user);
      expect(types.code, types.output).toBe(0);
    });

    it.sequential('deploys the project and runs it to COMPLETED on the local worker', async () => {
      const deploy = await sh(fromReadme('npm run deploy'), project, env, user);
      expect(deploy.code, deploy.output).toBe(0);
      expect(deploy.output).toContain('example/default');
      const run = await sh(fromReadme('npx outpost run example/default --watch'), project, env, user);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/ended COMPLETED/);
      expect(run.output).toContain('scored 5 rows');
    });
  });

  it.sequential('has typed every `npx outpost` command the tour shows', () => {
    const shown = tourCommands();
    expect(shown.length).toBeGreaterThanOrEqual(12);
    expect(shown.filter((command) => !typed.has(command))).toEqual([]);
  });

  it.sequential('stops everything on Ctrl-C, leaving no process behind', async () => {
    const job = platform!;
    platform = null;
    const exit = await job.interrupt();
    expect(job.output()).toContain('stopped');
    expect(exit.code === 0 || exit.signal === 'SIGINT', JSON.stringify(exit)).toBe(true);
    expect(processesUnder(root)).toEqual([]);
  });
});
