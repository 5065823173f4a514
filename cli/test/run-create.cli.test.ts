import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { Api } from '../src/api.js';
import { followLogs } from '../src/follow.js';
import { deployFromDir, useTestApi } from './api.support.js';
import { outpostOn, startOutpost } from './cli.support.js';

const api = useTestApi(async ({ owner }) => {
  await deployFromDir(owner, { flowName: 'later', name: 'cli' });
});

function outpost(...args: string[]) {
  // TZ pins the zone "tomorrow 06:00" is read in.
  return outpostOn(api.server, args, { env: { TZ: 'UTC' } });
}

/** 06:00 UTC on the day after `at`. */
function tomorrowSix(at: Date): string {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1, 6));
  return d.toISOString();
}

describe('outpost run', () => {
  test('--start-at "tomorrow 06:00" schedules the run for then and prints where the dashboard shows it', async () => {
    const before = new Date();
    const result = await outpost('run', 'later/cli', '--start-at', 'tomorrow 06:00');
    const after = new Date();
    expect(result.code).toBe(0);
    const id = result.stdout.trim();
    const created = unwrap(await api.owner.call('flowRunsGet', { params: { id } }));
    expect([tomorrowSix(before), tomorrowSix(after)]).toContain(created.expectedStartTime);
    expect(created.state.type).toBe('SCHEDULED');
    const stderr = result.stderr.split('\n');
    expect(stderr[0]).toBe(
      `created run ${created.name} of later/cli (SCHEDULED, starts ${created.expectedStartTime.replace('T', ' ').slice(0, 19)} UTC)`,
    );
    expect(stderr[1]).toBe(`dashboard: ${new URL(api.server.url).origin}/#/runs/${id}`);
  });

  test('--start-at takes an ISO timestamp, and words it cannot read are a usage error before any run exists', async () => {
    const at = new Date(Date.now() + 3 * 86_400_000);
    at.setUTCMilliseconds(0);
    const iso = await outpost('run', 'later/cli', '--start-at', at.toISOString(), '--json');
    expect(iso.code).toBe(0);
    expect(JSON.parse(iso.stdout).expectedStartTime).toBe(at.toISOString());

    const runsBefore = unwrap(await api.owner.call('flowRunsList', { query: { flow: 'later' } })).items.length;
    const bad = await outpost('run', 'later/cli', '--start-at', 'after lunch-ish');
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('error: --start-at cannot read "after lunch-ish"');
    expect(unwrap(await api.owner.call('flowRunsList', { query: { flow: 'later' } })).items).toHaveLength(runsBefore);
  });

  test('--idempotency-key: a repeated request finds the first run instead of creating another', async () => {
    const key = `nightly-${randomUUID()}`;
    const first = await outpost('run', 'later/cli', '--idempotency-key', key);
    const again = await outpost('run', 'later/cli', '--idempotency-key', key);
    expect(first.code).toBe(0);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    expect(first.stderr).toMatch(/^created run /);
    expect(again.stderr).toMatch(/^found existing run /);
    expect(again.stderr).toContain(`dashboard: ${new URL(api.server.url).origin}/#/runs/${first.stdout.trim()}`);
  });
});

/** Resolves once `check` holds, re-reading every 20 ms; rejects after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('outpost run --watch', () => {
  test('prints every state the run passed through, even several between two polls', async () => {
    const worker = new OutpostClient({ baseUrl: api.server.url, token: await api.server.createKey('worker', ['default']) });
    const watcher = startOutpost(['run', 'later/cli', '--watch'], {
      env: { OUTPOST_API_URL: api.server.url, OUTPOST_API_KEY: api.server.ownerKey },
    });
    try {
      await until(() => watcher.stderr().includes('state: SCHEDULED\n'), 30_000, 'the first state');
      const id = /\(([0-9a-f-]{36})\)/.exec(watcher.stderr())?.[1];
      expect(id).toBeDefined();
      // Claimed (PENDING), RUNNING and COMPLETED in quick succession: the watcher's next poll sees only the end.
      const workerId = randomUUID();
      const claimed = unwrap(await worker.call('claim', { params: { pool: 'default' }, body: { workerId, limit: 10 } })).runs;
      const mine = claimed.find((c) => c.flowRun.id === id);
      expect(mine).toBeDefined();
      const asRun = new OutpostClient({ baseUrl: api.server.url, token: mine!.token });
      try {
        for (const type of ['RUNNING', 'COMPLETED'] as const) {
          unwrap(
            await asRun.call('flowRunsSetState', { params: { id: id! }, body: { transitionId: randomUUID(), state: { type } } }),
          );
        }
      } finally {
        await asRun.close();
      }
      const done = await watcher.exited;
      expect(done.code).toBe(0);
      const states = done.stderr.split('\n').filter((l) => l.startsWith('state: ') || l.startsWith('run '));
      expect(states).toEqual([
        'state: SCHEDULED',
        'state: PENDING',
        'state: RUNNING',
        expect.stringMatching(/^run \S+ ended COMPLETED$/),
      ]);
    } finally {
      watcher.kill();
      await worker.close();
    }
  });

  test('following wakes on the run’s changes on the event stream: its end is read when it happens, not at the next poll', async () => {
    const deployment = unwrap(await api.owner.call('deploymentsGetByName', { params: { flow: 'later', name: 'cli' } }));
    const { flowRun } = unwrap(await api.owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} }));
    const worker = new OutpostClient({ baseUrl: api.server.url, token: await api.server.createKey('worker', ['default']) });
    const seen: string[] = [];
    let first!: () => void;
    const firstRead = new Promise<void>((resolve) => {
      first = resolve;
    });
    // A poll interval far longer than the test may take: only a wake from the stream can read the end.
    const following = followLogs(new Api({ apiUrl: api.server.url, apiKey: api.server.ownerKey }), flowRun.id, {
      follow: true,
      print: () => {},
      onRun: (r: FlowRun) => {
        seen.push(r.state.type);
        first();
      },
      pollMs: 600_000,
    });
    try {
      await firstRead;
      const claimed = unwrap(
        await worker.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 10 } }),
      ).runs;
      const mine = claimed.find((c) => c.flowRun.id === flowRun.id);
      expect(mine).toBeDefined();
      const asRun = new OutpostClient({ baseUrl: api.server.url, token: mine!.token });
      try {
        for (const type of ['RUNNING', 'COMPLETED'] as const) {
          unwrap(
            await asRun.call('flowRunsSetState', {
              params: { id: flowRun.id },
              body: { transitionId: randomUUID(), state: { type } },
            }),
          );
        }
      } finally {
        await asRun.close();
      }
      const result = await following;
      expect(result.kind).toBe('done');
      expect(result.kind === 'done' ? result.run?.state.type : null).toBe('COMPLETED');
      expect(seen[0]).toBe('SCHEDULED');
      expect(seen.at(-1)).toBe('COMPLETED');
    } finally {
      await worker.close();
    }
  }, 30_000);
});
