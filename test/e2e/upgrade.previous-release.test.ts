/**
 * An upgrade as an operator makes it: the previous release's control plane, installed from an npm
 * registry, fills a database; then this checkout's `outpost server start` takes the same database,
 * migrates it, and serves what the old one stored.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@outpost/api';
import type { TestDatabase } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDatabase } from '../support/empty-database.js';
import { installFrom, type LocalRegistry, previousRelease, startLocalRegistry } from '../support/local-registry.js';
import { type Job, startJob, stopJob } from '../support/newcomer.js';
import { repoRoot } from '../support/processes.js';
import { waitFor } from '../support/worker-process.js';

describe('upgrading from the previous release', () => {
  let scratch: string;
  let registry: LocalRegistry;
  let databaseUrl: string;
  let database: TestDatabase | undefined;
  const jobs: Job[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'outpost-upgrade-'));
    database = await emptyDatabase();
    databaseUrl = database.url;
    registry = await startLocalRegistry();
    const release = previousRelease('0.1.0');
    for (const name of ['@outpost/sdk', '@outpost/worker', '@outpost/server', '@outpost/cli']) {
      await registry.publish(release.tarballs[name]!);
    }
  }, 120_000);

  afterAll(async () => {
    for (const job of jobs.reverse()) await stopJob(job);
    await registry?.stop();
    await database?.drop();
    // Two releases installed, with their npm caches: the hook has the suite's three minutes to remove them.
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('the current server migrates a 0.1.0 database and keeps its keys, pool, deployments, runs, schedules and automations working', async () => {
    const home = path.join(scratch, 'home');
    const old = path.join(scratch, 'old');
    await installFrom(registry, old, ['@outpost/server@0.1.0'], home);
    const env = { ...registry.npmEnv(home), PATH: process.env.PATH ?? '/usr/bin:/bin', DATABASE_URL: databaseUrl };

    const oldPort = await freePort();
    const oldServer = startJob(`npx outpost-server start --port ${oldPort}`, old, env);
    jobs.push(oldServer);
    const [, oldUrl] = await oldServer.waitFor(/Outpost API: (http:\/\/\S+)\n/, 90_000);
    const [, key] = await oldServer.waitFor(/Owner API key \(shown once, store it now\): (\S+)\n/, 10_000);
    const before = new OutpostClient({ baseUrl: oldUrl!, token: key! });
    unwrap(await before.call('poolsCreate', { body: { name: 'upgraded' } }));
    const {
      deployment: { id: deploymentId },
    } = unwrap(
      await before.call('deploymentsUpsert', {
        body: {
          flowName: 'nightly',
          name: 'd',
          source: 'dir:///never-fetched',
          entrypoint: 'flow.mjs',
          workPool: 'upgraded',
          schedules: [{ cron: '30 2 * * *', timezone: 'Europe/Paris' }],
        },
      }),
    );
    const runs = [];
    for (let i = 0; i < 3; i++) {
      runs.push(unwrap(await before.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} })).flowRun);
    }
    // Runs in more than one state: one cancelled before the upgrade.
    unwrap(await before.call('flowRunsCancel', { params: { id: runs[2]!.id }, body: {} }));
    runs[2] = unwrap(await before.call('flowRunsGet', { params: { id: runs[2]!.id } }));
    expect(runs[2]!.state.type).toBe('CANCELLED');
    // A schedule whose runs the next server must make: paused here, which deletes the runs it had made.
    const hourly = unwrap(
      await before.call('deploymentsUpsert', {
        body: {
          flowName: 'hourly',
          name: 'd',
          source: 'dir:///never-fetched',
          entrypoint: 'flow.mjs',
          workPool: 'upgraded',
          schedules: [{ cron: '0 * * * *', timezone: 'UTC' }],
        },
      }),
    ).deployment;
    unwrap(await before.call('deploymentsPause', { params: { id: hourly.id } }));
    expect(unwrap(await before.call('flowRunsList', { query: { deploymentId: hourly.id } })).items).toEqual([]);
    // A second key, and an automation that starts a run on an event.
    const { key: developerKey } = unwrap(await before.call('apiKeysCreate', { body: { name: 'ci-deploys', role: 'developer' } }));
    unwrap(
      await before.call('automationsCreate', {
        body: {
          name: 'on-upgrade-check',
          trigger: { type: 'event', match: 'event.kind == "upgrade.checked"' },
          actions: [{ type: 'run-deployment', deployment: 'nightly/d' }],
        },
      }),
    );
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const [applied] = await sql<{ count: number }[]>`SELECT count(*)::int AS count FROM drizzle.__drizzle_migrations`;
    await stopJob(oldServer);
    jobs.splice(jobs.indexOf(oldServer), 1);

    const port = await freePort();
    const current = startJob(`node ${path.join(repoRoot, 'cli/bin/outpost.js')} server start --port ${port}`, scratch, env);
    jobs.push(current);
    const [, url] = await current.waitFor(/Outpost API: (http:\/\/\S+)\n/, 90_000);
    const [after] = await sql<{ count: number }[]>`SELECT count(*)::int AS count FROM drizzle.__drizzle_migrations`;
    await sql.end({ timeout: 5 });
    // Every migration this release knows is applied (0.2.0 adds none to 0.1.0's so far; a later one will).
    const journal = JSON.parse(
      readFileSync(path.join(repoRoot, 'services/api/src/db/migrations/meta/_journal.json'), 'utf8'),
    ) as { entries: unknown[] };
    expect(applied!.count).toBeLessThanOrEqual(journal.entries.length);
    expect(after!.count).toBe(journal.entries.length);

    const client = new OutpostClient({ baseUrl: url!, token: key! });
    const deployment = unwrap(await client.call('deploymentsGetByName', { params: { flow: 'nightly', name: 'd' } }));
    expect(deployment.workPool).toBe('upgraded');
    const { items: schedules } = unwrap(await client.call('schedulesList', { params: { id: deployment.id } }));
    expect(schedules).toMatchObject([{ cron: '30 2 * * *', timezone: 'Europe/Paris', active: true }]);
    for (const run of runs) {
      const read = unwrap(await client.call('flowRunsGet', { params: { id: run.id } }));
      expect({ id: read.id, name: read.name, state: read.state.type }).toEqual({
        id: run.id,
        name: run.name,
        state: run.state.type,
      });
    }
    const { flowRun: fresh } = unwrap(await client.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} }));
    expect(fresh.deploymentId).toBe(deploymentId);

    // The second key works as the role it was given.
    const developer = new OutpostClient({ baseUrl: url!, token: developerKey });
    expect(unwrap(await developer.call('whoami', {})).principal.role).toBe('developer');

    // The old schedule, resumed, gets its runs from this server's scheduler: on the hour, ahead of now.
    unwrap(await client.call('deploymentsResume', { params: { id: hourly.id } }));
    const scheduled = await waitFor(
      async () => {
        const { items } = unwrap(await client.call('flowRunsList', { query: { deploymentId: hourly.id } }));
        return items.length > 0 ? items : null;
      },
      30_000,
      "the resumed schedule's runs",
    );
    for (const run of scheduled) {
      expect(run.state.type).toBe('SCHEDULED');
      expect(new Date(run.expectedStartTime).getUTCMinutes()).toBe(0);
      expect(Date.parse(run.expectedStartTime)).toBeGreaterThan(Date.now() - 60_000);
    }

    // The old automation fires on this server: an event starts a run of nightly/d.
    unwrap(await client.call('eventsEmit', { body: { events: [{ kind: 'upgrade.checked' }] } }));
    // Runs not made by a schedule: the three from before, the one made after the upgrade, and the automation's.
    const unscheduled = async () =>
      unwrap(await client.call('flowRunsList', { query: { deploymentId } })).items.filter((run) => !run.scheduleId);
    const fired = await waitFor(
      async () => {
        const items = await unscheduled();
        return items.length > runs.length + 1 ? items : null;
      },
      30_000,
      "the automation's run",
    );
    expect(fired.length).toBe(runs.length + 2);
    expect(fired.map((run) => run.id)).toEqual(expect.arrayContaining([...runs.map((run) => run.id), fresh.id]));
  }, 240_000);
});
