import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { CLI, outpost } from './cli.support.js';

const SECRET = 'dev-greeting-7c1e0b55';

interface KeyRow {
  id: string;
  role: string;
  prefix: string;
  pools: string[];
  revokedAt: string | null;
}

/** The listed API key that `key` is, found by its prefix. */
function keyRow(keys: KeyRow[], key: string): KeyRow | undefined {
  return keys.find((k) => key.startsWith(k.prefix));
}

/** Processes whose command line mentions `text`: what `outpost dev` must not leave behind. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

interface DevProcess {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** `outpost dev` in `cwd`; with `group`, in a process group of its own, as a terminal runs a foreground command. */
function startDev(cwd: string, extra: string[] = [], group = false): DevProcess {
  const child = spawn(process.execPath, [CLI, 'dev', '--port', '0', ...extra], {
    cwd,
    detached: group,
    // No DATABASE_URL: `outpost dev` runs its own embedded Postgres under .outpost/pg, as `npm start` does.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GREETING_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`outpost dev exited (${child.exitCode}) before ${pattern}:\n${text}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

async function stopDev(dev: DevProcess): Promise<number | null> {
  if (dev.child.exitCode === null) dev.child.kill('SIGINT');
  return dev.exited;
}

/**
 * A home for `outpost dev` and a project of one deployment, `flows/<flow>.ts` (the test writes it),
 * both removed when the test ends. The project is inside the checkout, so its `@outpost/sdk` import
 * resolves to the workspace's SDK.
 */
async function devProject(
  tag: string,
  deployment: { project: string; flow: string; pool?: string },
): Promise<{ home: string; project: string; flowFile: string }> {
  const home = await mkdtemp(join(tmpdir(), `outpost-cli-${tag}-`));
  onTestFinished(() => rm(home, { recursive: true, force: true }));
  // mkdtemp makes the directory private; run as root, embedded Postgres drops to its own user, which must reach it.
  await chmod(home, 0o755);
  const project = await mkdtemp(join(fileURLToPath(new URL('.', import.meta.url)), `.${tag}-`));
  onTestFinished(() => rm(project, { recursive: true, force: true }));
  const { flow } = deployment;
  const pool = deployment.pool ? `, pool: '${deployment.pool}'` : '';
  await mkdir(join(project, 'flows'));
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: deployment.project, private: true, type: 'module' }));
  await writeFile(
    join(project, 'outpost.config.ts'),
    `import { defineConfig } from '@outpost/sdk';\nexport default defineConfig({ project: '${deployment.project}', registry: 'oci-layout:./.outpost/registry', deployments: [{ flow: '${flow}', name: 'default', entrypoint: 'flows/${flow}.ts'${pool} }] });\n`,
  );
  return { home, project, flowFile: join(project, 'flows', `${flow}.ts`) };
}

describe('outpost dev', () => {
  const running: DevProcess[] = [];
  let cwd: string | null = null;

  afterAll(async () => {
    for (const dev of running) if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('starts the API, a worker on the pool local and the examples there; a run completes; Ctrl-C stops everything; a restart reuses the data', async () => {
    cwd = await mkdtemp(join(tmpdir(), 'outpost-cli-dev-'));
    // mkdtemp makes the directory private; run as root, embedded Postgres drops to its own user, which must reach it.
    await chmod(cwd, 0o755);
    const first = startDev(cwd);
    running.push(first);
    await first.waitFor(/Ctrl-C stops everything/, 120_000);
    const out = first.output();
    const url = out.match(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/)?.[1];
    const key = out.match(/owner key:\s+(op_\w+)/)?.[1];
    expect(url).toBeDefined();
    expect(key).toBeDefined();
    expect(out).toContain('stored in .outpost/credentials.json');
    expect(out).toContain('created work pool local');
    expect(out).toContain('worker:    polling pool "local"');
    expect(out).toContain('npx outpost workers ls --pool local');
    expect(out).toMatch(/deployed:\s+hello\/default → oci-layout:\/\/\/.*\/\.outpost\/registry@sha256:[a-f0-9]{64}/);
    expect(out).toContain(`OUTPOST_API_URL=${url} OUTPOST_API_KEY=${key}`);
    // The one-time dashboard link opens a session once, as the local person: the Organisation pages answer.
    const link = out.match(/dashboard:\s+(http:\/\/127\.0\.0\.1:\d+)\/#\/sign-in\?token=([A-Za-z0-9_-]+)/);
    expect(link?.[1]).toBe(url);
    expect(out).toContain('(one-time sign-in link as owner@localhost');
    const signIn = () =>
      fetch(`${url}/api/v1/auth/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: link?.[2] }),
      });
    const linked = await signIn();
    expect(linked.status).toBe(200);
    expect((await signIn()).status).toBe(401);
    const linkCookie = linked.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const linkedOrganisation = await fetch(`${url}/api/v1/organisations/default/members`, { headers: { cookie: linkCookie } });
    expect(linkedOrganisation.status).toBe(200);

    // The local person: owner of the workspace and its organisation with a confirmed address, so the
    // Organisation pages answer without a mail server once its password is chosen with the printed link.
    const personLink = out.match(
      /person:\s+owner@localhost, [^\n]*choose its password at (\S+)\/#\/reset-password\?token=([A-Za-z0-9_-]+)/,
    );
    expect(personLink?.[1]).toBe(url);
    const chosen = await fetch(`${url}/api/v1/auth/password-reset/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: personLink?.[2], password: 'a local passphrase' }),
    });
    expect(chosen.status).toBe(200);
    const personSignIn = await fetch(`${url}/api/v1/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@localhost', password: 'a local passphrase' }),
    });
    expect(personSignIn.status).toBe(200);
    const cookie = personSignIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const organisation = await fetch(`${url}/api/v1/organisations/default/members`, { headers: { cookie } });
    expect(organisation.status).toBe(200);

    const credentialsPath = join(cwd, '.outpost', 'credentials.json');
    expect((await stat(credentialsPath)).mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(await readFile(credentialsPath, 'utf8')) as { ownerKey: string; workerKey: string };
    expect(credentials.ownerKey).toBe(key);

    const env = { OUTPOST_API_URL: url!, OUTPOST_API_KEY: key! };
    const run = await outpost(['run', 'hello/default', '--param', 'n=3', '--watch'], { env, timeoutMs: 90_000 });
    expect(run.stdout).toContain('sum of squares 1..3 = 14');
    expect(run.stdout).toContain('greeting secret: ');
    expect(run.stdout).not.toContain(SECRET);
    expect(run.code).toBe(0);

    // The ML example's asset graph runs on the same worker, as the banner says; its values (the model,
    // the scores, the card) stay with the local state, under .outpost/assets.
    expect(out).toContain('npx outpost run assets/churn --watch');
    const churn = await outpost(['run', 'assets/churn', '--watch'], { env, timeoutMs: 120_000 });
    expect(churn.code, `${churn.stdout}${churn.stderr}`).toBe(0);
    expect(churn.stdout).toContain('scored 400 customers in 4 batches');
    for (const value of ['churn/model/data.json', 'churn/scores/data.csv', 'churn/model-card/data.md']) {
      expect(existsSync(join(cwd, '.outpost', 'assets', ...value.split('/'))), value).toBe(true);
    }
    // So do the task results it caches (its validation of the customers to score).
    expect(readdirSync(join(cwd, '.outpost', 'results')).length).toBeGreaterThan(0);

    // Both examples name the pool `default` in their config; `outpost dev` registers them on `local`.
    const deployments = await outpost(['deployments', 'ls', '--json'], { env });
    expect(
      (JSON.parse(deployments.stdout) as { flowName: string; name: string; workPool: string }[])
        .map((d) => `${d.flowName}/${d.name} on ${d.workPool}`)
        .sort(),
    ).toEqual(['assets/churn on local', 'hello/default on local']);
    // The worker that ran hello/default polls `local`, and nothing polls `default`.
    const onLocal = await outpost(['workers', 'ls', '--pool', 'local', '--json'], { env });
    expect((JSON.parse(onLocal.stdout) as { name: string; status: string }[]).map((w) => [w.name, w.status])).toEqual([
      [`local-${hostname()}`, 'ONLINE'],
    ]);
    const onDefault = await outpost(['workers', 'ls', '--pool', 'default', '--json'], { env });
    expect(JSON.parse(onDefault.stdout)).toEqual([]);
    const keys = JSON.parse((await outpost(['keys', 'ls', '--json'], { env })).stdout) as KeyRow[];
    expect(keyRow(keys, credentials.workerKey)).toMatchObject({ role: 'worker', pools: ['local'], revokedAt: null });

    // The first start registered both examples; what is changed on the server now must survive a restart.
    expect(out).toContain('examples:  2 deployments created');
    const reschedule = await outpost(['schedules', 'update', 'assets/churn', 'nightly', '--cron', '0 5 * * *'], { env });
    expect(reschedule.code, reschedule.stderr).toBe(0);
    const limit = await outpost(['deployments', 'set-concurrency', 'hello/default', '2'], { env });
    expect(limit.code, limit.stderr).toBe(0);

    expect(await stopDev(first)).toBe(0);
    expect(first.output()).toContain('stopped');
    expect(processesMentioning(join(cwd, '.outpost'))).toEqual([]);

    const second = startDev(cwd);
    running.push(second);
    await second.waitFor(/Ctrl-C stops everything/, 120_000);
    expect(second.output()).toContain(`owner key: ${key}`);
    expect(second.output().match(/sign-in\?token=(\S+)/)?.[1]).not.toBe(link?.[2]);
    expect(second.output()).not.toContain('stored in .outpost/credentials.json');
    // Its password was chosen: no new link, and the person stays the organisation's owner.
    expect(second.output()).toContain('person:    owner@localhost, owner of the workspace and its organisation');
    expect(second.output()).not.toContain('reset-password?token=');
    expect(second.output()).not.toContain('created work pool');
    expect(second.output()).toContain('worker:    polling pool "local"');
    expect(second.output()).toMatch(/pushed (\d+) blobs \(\1 skipped\)/);
    // Nothing changed in the examples: nothing is re-registered, so the schedule and the limit set above stay.
    expect(second.output()).toContain('examples:  2 deployments unchanged');
    expect(second.output()).toMatch(/unchanged hello\/default → oci-layout:/);
    expect(second.output()).not.toContain('registered hello/default');
    const again = JSON.parse(await readFile(credentialsPath, 'utf8')) as { ownerKey: string; workerKey: string };
    expect(again).toEqual(credentials);
    // Both examples' schedules add runs of their own, due later; the data kept across restarts is hello's run.
    const secondEnv = { ...env, OUTPOST_API_URL: second.output().match(/API:\s+(\S+)/)![1]! };
    const runs = await outpost(['runs', 'ls', '--deployment', 'hello/default', '--json'], { env: secondEnv });
    const states = (JSON.parse(runs.stdout) as { state: { type: string } }[]).map((r) => r.state.type);
    expect(states.filter((state) => state !== 'SCHEDULED')).toEqual(['COMPLETED']);
    const schedules = JSON.parse((await outpost(['schedules', 'ls', 'assets/churn', '--json'], { env: secondEnv })).stdout) as {
      slug: string;
      cron: string | null;
    }[];
    expect(schedules.map((x) => [x.slug, x.cron])).toEqual([['nightly', '0 5 * * *']]);
    const listed = JSON.parse((await outpost(['deployments', 'ls', '--json'], { env: secondEnv })).stdout) as {
      flowName: string;
      concurrencyLimit: number | null;
    }[];
    expect(listed.find((d) => d.flowName === 'hello')?.concurrencyLimit).toBe(2);
    const pools = JSON.parse((await outpost(['pools', 'ls', '--json'], { env: secondEnv })).stdout) as { name: string }[];
    expect(pools.map((p) => p.name).sort()).toEqual(['default', 'local']);

    // A .outpost from before the pool `local` holds a worker key limited to `default`: it is revoked and replaced.
    const oldKey = await outpost(['keys', 'create', 'old-local-worker', '--role', 'worker', '--pool', 'default', '--json'], {
      env: secondEnv,
    });
    expect(oldKey.code).toBe(0);
    const stale = (JSON.parse(oldKey.stdout) as { key: string }).key;
    expect(await stopDev(second)).toBe(0);
    expect(processesMentioning(join(cwd, '.outpost'))).toEqual([]);
    await writeFile(credentialsPath, JSON.stringify({ ...credentials, workerKey: stale }), { mode: 0o600 });

    const third = startDev(cwd);
    running.push(third);
    await third.waitFor(/Ctrl-C stops everything/, 120_000);
    expect(third.output()).toContain(`owner key: ${key}`);
    const upgraded = JSON.parse(await readFile(credentialsPath, 'utf8')) as { ownerKey: string; workerKey: string };
    expect(upgraded.ownerKey).toBe(key);
    expect(upgraded.workerKey).not.toBe(stale);
    const thirdEnv = { ...env, OUTPOST_API_URL: third.output().match(/API:\s+(\S+)/)![1]! };
    const keysNow = JSON.parse((await outpost(['keys', 'ls', '--json'], { env: thirdEnv })).stdout) as KeyRow[];
    expect(keyRow(keysNow, stale)?.revokedAt).not.toBeNull();
    expect(keyRow(keysNow, upgraded.workerKey)).toMatchObject({ role: 'worker', pools: ['local'], revokedAt: null });
    const rerun = await outpost(['run', 'hello/default', '--param', 'n=2', '--watch'], { env: thirdEnv, timeoutMs: 90_000 });
    expect(rerun.stdout).toContain('sum of squares 1..2 = 5');
    expect(rerun.code).toBe(0);
    expect(await stopDev(third)).toBe(0);
    expect(processesMentioning(join(cwd, '.outpost'))).toEqual([]);
  }, 420_000);

  it('redeploys a project when one of its files is saved, and says in one line when a change does not build', async () => {
    const { home, project, flowFile } = await devProject('watch', { project: 'watch-demo', flow: 'watched', pool: 'default' });
    const flowSource = (answer: string) =>
      `import { flow } from '@outpost/sdk';\nexport const watched = flow({ name: 'watched' }, async () => '${answer}');\n`;
    await writeFile(flowFile, flowSource('first'));
    const dev = startDev(home, ['--project', project, '--watch']);
    running.push(dev);
    await dev.waitFor(/watching 1 project: a saved change redeploys it/, 120_000);
    const out = dev.output();
    const env = {
      OUTPOST_API_URL: out.match(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/)?.[1] ?? '',
      OUTPOST_API_KEY: out.match(/owner key:\s+(op_\w+)/)?.[1] ?? '',
    };
    const source = async () => {
      const listed = JSON.parse((await outpost(['deployments', 'ls', '--json'], { env })).stdout) as {
        flowName: string;
        source: string;
      }[];
      return listed.find((d) => d.flowName === 'watched')?.source;
    };
    const first = await source();
    expect(first).toMatch(/@sha256:[a-f0-9]{64}$/);

    await writeFile(flowFile, flowSource('second'));
    const redeployed = await dev.waitFor(/redeployed watch-demo: watched\/default \((\S+@sha256:[a-f0-9]{64})\)/, 60_000);
    expect(redeployed[1]).not.toBe(first);
    expect(await source()).toBe(redeployed[1]);

    // A save that changes nothing the deployment is made of re-registers nothing.
    await writeFile(flowFile, flowSource('second'));
    await dev.waitFor(/watch-demo: 1 deployment unchanged; nothing redeployed/, 60_000);

    // A type error is one line, then the error where it is; the deployed version stays.
    await writeFile(flowFile, `${flowSource('third')}export const n: number = 'x';\n`);
    await dev.waitFor(/redeploy of .*\.watch-\w+ failed: 1 type error: nothing deployed/, 60_000);
    await dev.waitFor(/ {2}flows\/watched\.ts:3:14 {2}Type 'string' is not assignable to type 'number'\./, 10_000);
    expect(await source()).toBe(redeployed[1]);

    // A save that does not build is one line, and the watch goes on.
    await writeFile(flowFile, 'export const = ;\n');
    const failed = await dev.waitFor(/redeploy of .*\.watch-\w+ failed: (.+)/, 60_000);
    expect(failed[1]).not.toContain('\n');
    expect(dev.child.exitCode).toBeNull();
    expect(await source()).toBe(redeployed[1]);
    expect(await stopDev(dev)).toBe(0);
  }, 240_000);

  it('skips the type-check on a restart with nothing changed, and checks a changed file again, refusing its type error', async () => {
    const { home, project, flowFile } = await devProject('typecheck', { project: 'checked-demo', flow: 'checked' });
    const flowSource = (extra: string) =>
      `import { flow } from '@outpost/sdk';\nexport const checked = flow({ name: 'checked' }, async () => 'ok');\n${extra}`;
    await writeFile(flowFile, flowSource(''));
    const start = async () => {
      const dev = startDev(home, ['--project', project]);
      running.push(dev);
      await dev.waitFor(/Ctrl-C stops everything/, 120_000);
      expect(await stopDev(dev)).toBe(0);
      return dev.output();
    };

    const first = await start();
    expect(first).toContain('type-checking 1 entrypoint…');
    expect(first).not.toContain('type-check skipped');

    const second = await start();
    expect(second).toContain('type-check skipped: nothing it reads has changed since it last passed');
    expect(second).not.toContain('type-checking');
    expect(second).toContain('project:   1 deployment unchanged');

    // A changed file is checked again: its type error is reported, and nothing starts.
    await writeFile(flowFile, flowSource("export const n: number = 'x';\n"));
    const broken = startDev(home, ['--project', project]);
    running.push(broken);
    expect(await broken.exited).toBe(2);
    expect(broken.output()).toContain('type-checking 1 entrypoint…');
    expect(broken.output()).toMatch(/ {2}flows\/checked\.ts:3:14 {2}Type 'string' is not assignable to type 'number'\./);
    expect(broken.output()).toContain('1 type error: nothing deployed');

    // Fixed again: checked (the failure was not recorded as a pass), then skipped once more.
    await writeFile(flowFile, flowSource('export const n: number = 1;\n'));
    const fixed = await start();
    expect(fixed).toContain('type-checking 1 entrypoint…');
    expect(fixed).toContain('project:   1 deployment updated');
    expect(await start()).toContain('type-check skipped');
    expect(processesMentioning(join(home, '.outpost'))).toEqual([]);
  }, 360_000);

  it("stops in order on a terminal's Ctrl-C: the run in progress ends CRASHED saying so, Postgres stops last, in a few readable lines", async () => {
    const { home, project, flowFile } = await devProject('ctrl-c', { project: 'ctrl-c-demo', flow: 'endless', pool: 'default' });
    await writeFile(
      flowFile,
      `import { flow, log } from '@outpost/sdk';\nimport { setTimeout as sleep } from 'node:timers/promises';\nexport const endless = flow({ name: 'endless' }, async () => {\n  log.info('working');\n  for (;;) await sleep(200);\n});\n`,
    );
    const dev = startDev(home, ['--project', project], true);
    running.push(dev);
    await dev.waitFor(/Ctrl-C stops everything/, 120_000);
    const out = dev.output();
    const env = {
      OUTPOST_API_URL: out.match(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/)?.[1] ?? '',
      OUTPOST_API_KEY: out.match(/owner key:\s+(op_\w+)/)?.[1] ?? '',
    };
    const started = await outpost(['run', 'endless/default', '--json'], { env });
    expect(started.code, started.stderr).toBe(0);
    const runId = (JSON.parse(started.stdout) as { id: string }).id;
    await dev.waitFor(new RegExp(`worker: started run ${runId}`), 60_000);
    // The worker names a run as soon as it claims it; the flow process runs once the run is RUNNING.
    // A Ctrl-C before that returns the run to the queue unstarted (worker/test/final-state.decisions.test.ts).
    for (let state = ''; state !== 'RUNNING'; ) {
      const got = await outpost(['runs', 'get', runId, '--json'], { env });
      expect(got.code, got.stderr).toBe(0);
      state = (JSON.parse(got.stdout) as { state: { type: string } }).state.type;
      expect(['SCHEDULED', 'PENDING', 'RUNNING']).toContain(state);
    }
    const postgresPid = Number(readFileSync(join(home, '.outpost', 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(postgresPid).toBeGreaterThan(0);

    const before = dev.output().length;
    // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group, then again to hurry.
    process.kill(-(dev.child.pid as number), 'SIGINT');
    await dev.waitFor(/the run in progress gets up to 20 s to finish \(Ctrl-C again to stop it now\)/, 10_000);
    process.kill(-(dev.child.pid as number), 'SIGINT');
    expect(await dev.exited).toBe(0);
    const after = dev.output().slice(before).trim().split('\n');
    expect(after.length, after.join('\n')).toBeLessThanOrEqual(5);
    expect(after.join('\n')).not.toMatch(/ECONNREFUSED|"level"|\bat \w+ \(|leader election failed|could not/);
    expect(after.at(-1)).toBe('stopped');
    expect(after.join('\n')).toContain(`worker: run ${runId} finished CRASHED (stopped with the local server)`);
    expect(processesMentioning(join(home, '.outpost'))).toEqual([]);
    expect(existsSync(`/proc/${postgresPid}`)).toBe(false);

    // The run says what happened, and stays so at the next start.
    const again = startDev(home, ['--project', project], true);
    running.push(again);
    await again.waitFor(/Ctrl-C stops everything/, 120_000);
    const againEnv = { ...env, OUTPOST_API_URL: again.output().match(/API:\s+(\S+)/)![1]! };
    const shown = JSON.parse((await outpost(['runs', 'get', runId, '--json'], { env: againEnv })).stdout) as {
      state: { type: string; message: string };
      attempt: number;
    };
    expect(shown.state.type).toBe('CRASHED');
    expect(shown.state.message).toContain('worker shut down before the run finished');
    // With nothing running, Ctrl-C is two lines.
    const idleFrom = again.output().length;
    process.kill(-(again.child.pid as number), 'SIGINT');
    expect(await again.exited).toBe(0);
    expect(again.output().slice(idleFrom).trim().split('\n')).toEqual(['SIGINT: stopping…', 'stopped']);
    expect(processesMentioning(join(home, '.outpost'))).toEqual([]);
  }, 300_000);
});
