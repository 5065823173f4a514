import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { claimedPair, client, comparable, useServer } from './helpers.js';

const api = useServer();

/** A claimed, RUNNING run with its token (and a second one of the same pool, for scoping). */
async function runningRuns() {
  const { a, b, tokenA, tokenB } = await claimedPair(api.owner, 'art');
  const asA = client(api.server, tokenA);
  await asA('POST', `/flow-runs/${a.id}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
  return { a, b, asA, asB: client(api.server, tokenB) };
}

function markdown(key: string, text: string, extra: Record<string, unknown> = {}) {
  return { id: randomUUID(), flowRunAttempt: 1, key, type: 'markdown', data: { markdown: text }, ...extra };
}

describe('artifacts', () => {
  test('a run token records an artifact once per id; readers list the run’s artifacts in order', async () => {
    const { a, asA } = await runningRuns();
    const task = randomUUID();
    await asA('POST', `/flow-runs/${a.id}/task-runs`, {
      body: { id: task, flowRunAttempt: 1, name: 't', taskKey: 't-0', dynamicKey: '0', state: { type: 'RUNNING' } },
    });
    const first = markdown('report', '# Accuracy\n\n93%', { description: 'nightly report', taskRunId: task });
    const created = await asA('POST', `/flow-runs/${a.id}/artifacts`, { body: first });
    expect(created.status).toBe(201);
    expect(created.body.artifact).toMatchObject({
      id: first.id,
      key: 'report',
      type: 'markdown',
      description: 'nightly report',
      data: { markdown: '# Accuracy\n\n93%' },
      flowRunId: a.id,
      taskRunId: task,
    });
    const replay = await asA('POST', `/flow-runs/${a.id}/artifacts`, { body: first });
    expect(replay.status).toBe(200);
    expect(replay.body.artifact.id).toBe(first.id);

    const table = {
      id: randomUUID(),
      flowRunAttempt: 1,
      key: 'metrics',
      type: 'table',
      data: {
        columns: ['epoch', 'loss'],
        rows: [
          [1, 0.5],
          [2, null],
        ],
      },
    };
    expect((await asA('POST', `/flow-runs/${a.id}/artifacts`, { body: table })).status).toBe(201);
    const link = {
      id: randomUUID(),
      flowRunAttempt: 1,
      key: 'model',
      type: 'link',
      data: { url: 'https://models.internal/42', text: null },
    };
    expect((await asA('POST', `/flow-runs/${a.id}/artifacts`, { body: link })).status).toBe(201);

    const viewer = client(api.server, await api.server.createKey('viewer'));
    const listed = await viewer('GET', `/flow-runs/${a.id}/artifacts`);
    expect(listed.status).toBe(200);
    // Oldest first; two rows created within one millisecond may come in either order, so compare as a set.
    expect(listed.body.items.map((x: { key: string; type: string }) => `${x.type}:${x.key}`).sort()).toEqual([
      'link:model',
      'markdown:report',
      'table:metrics',
    ]);
    expect((await asA('GET', `/flow-runs/${a.id}/artifacts`)).body.items).toHaveLength(3);
  });

  test('a progress artifact is updated in place, one row per run and key', async () => {
    const { a, asA } = await runningRuns();
    const progress = (fraction: number) => ({
      id: randomUUID(),
      flowRunAttempt: 1,
      key: 'training',
      type: 'progress',
      data: { progress: fraction },
    });
    const first = await asA('POST', `/flow-runs/${a.id}/artifacts`, { body: progress(0.25) });
    expect(first.status).toBe(201);
    const second = await asA('POST', `/flow-runs/${a.id}/artifacts`, { body: progress(0.75) });
    expect(second.status).toBe(200);
    expect(second.body.artifact).toMatchObject({ id: first.body.artifact.id, data: { progress: 0.75 } });
    const items = (await api.owner('GET', `/flow-runs/${a.id}/artifacts`)).body.items;
    expect(items).toHaveLength(1);
    expect(items[0].data).toEqual({ progress: 0.75 });
    expect(Date.parse(items[0].updatedAt)).toBeGreaterThanOrEqual(Date.parse(items[0].createdAt));
  });

  test('GET /artifacts returns the latest artifact of a key, or of every key, in the caller’s workspace only', async () => {
    const key = `weekly-${randomUUID().slice(0, 8)}`;
    const one = await runningRuns();
    const two = await runningRuns();
    await one.asA('POST', `/flow-runs/${one.a.id}/artifacts`, { body: markdown(key, 'first week') });
    await two.asA('POST', `/flow-runs/${two.a.id}/artifacts`, { body: markdown(key, 'second week') });
    await two.asA('POST', `/flow-runs/${two.a.id}/artifacts`, { body: markdown(`${key}-other`, 'other') });

    const latest = await api.owner('GET', `/artifacts?key=${key}`);
    expect(latest.status).toBe(200);
    expect(latest.body.items).toHaveLength(1);
    expect(latest.body.items[0]).toMatchObject({ key, flowRunId: two.a.id, data: { markdown: 'second week' } });

    const everyKey = (await api.owner('GET', '/artifacts?limit=200')).body.items as { key: string; data: unknown }[];
    const mine = everyKey.filter((x) => x.key.startsWith(key));
    expect(mine.map((x) => x.key)).toEqual([`${key}-other`, key]);
    expect(mine.find((x) => x.key === key)?.data).toEqual({ markdown: 'second week' });

    const stranger = client(api.server, (await api.server.createWorkspace()).ownerKey);
    expect((await stranger('GET', `/artifacts?key=${key}`)).body.items).toEqual([]);
    expect((await stranger('GET', `/flow-runs/${one.a.id}/artifacts`)).status).toBe(404);
    expect((await api.owner('GET', '/artifacts?key=Not A Key')).status).toBe(400);
  });

  test('refuses data that does not match its type, unsafe links, keys out of pattern and data over 256 KiB, with field paths', async () => {
    const { a, asA } = await runningRuns();
    const cases: [Record<string, unknown>, string][] = [
      [{ ...markdown('ok', 'x'), data: { text: 'x' } }, 'body.data.markdown'],
      [{ ...markdown('ok', 'x'), type: 'progress', data: { progress: 2 } }, 'body.data.progress'],
      [{ ...markdown('ok', 'x'), type: 'link', data: { url: 'javascript:alert(1)', text: null } }, 'body.data.url'],
      [markdown('Has Spaces', 'x'), 'body.key'],
      [markdown('big', 'x'.repeat(300 * 1024)), 'body.data'],
    ];
    for (const [body, path] of cases) {
      const res = await asA('POST', `/flow-runs/${a.id}/artifacts`, { body });
      expect(res.status, path).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await api.owner('GET', `/flow-runs/${a.id}/artifacts`)).body.items).toEqual([]);
  });

  test('only the run’s own token (or its worker) writes; a sibling’s token, a stale attempt and a taken id are refused', async () => {
    const { a, b, asA, asB } = await runningRuns();
    const mine = markdown('report', 'mine');
    expect((await asA('POST', `/flow-runs/${a.id}/artifacts`, { body: mine })).status).toBe(201);

    const sibling = await asB('POST', `/flow-runs/${a.id}/artifacts`, { body: markdown('report', 'not mine') });
    expect(sibling.status).toBe(404);
    expect(comparable(sibling.body)).toEqual(comparable((await asB('GET', `/flow-runs/${randomUUID()}/artifacts`)).body));
    expect((await asB('GET', `/flow-runs/${a.id}/artifacts`)).status).toBe(404);

    const stale = await asA('POST', `/flow-runs/${a.id}/artifacts`, { body: markdown('report', 'x', { flowRunAttempt: 2 }) });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('stale_attempt');

    // B's token reusing A's artifact id under its own run: refused without revealing A's artifact.
    const taken = await asB('POST', `/flow-runs/${b.id}/artifacts`, { body: { ...markdown('report', 'x'), id: mine.id } });
    expect(taken.status).toBe(409);
    expect(JSON.stringify(taken.body)).not.toContain('mine');

    expect((await api.owner('POST', `/flow-runs/${a.id}/artifacts`, { body: markdown('report', 'x') })).status).toBe(403);
    const items = (await api.owner('GET', `/flow-runs/${a.id}/artifacts`)).body.items;
    expect(items.map((x: { data: { markdown: string } }) => x.data.markdown)).toEqual(['mine']);
  });

  test('the parent’s token records artifacts of its subflow runs', async () => {
    const { a, asA, asB } = await runningRuns();
    const child = await asA('POST', `/flow-runs/${a.id}/child-runs`, {
      body: { id: randomUUID(), attempt: 1, flowName: 'evaluate' },
    });
    expect(child.status).toBe(201);
    const childId = child.body.flowRun.id;
    expect((await asA('POST', `/flow-runs/${childId}/artifacts`, { body: markdown('eval', 'child report') })).status).toBe(201);
    expect((await asB('POST', `/flow-runs/${childId}/artifacts`, { body: markdown('eval', 'x') })).status).toBe(404);
    expect(
      (await api.owner('GET', `/flow-runs/${childId}/artifacts`)).body.items.map((x: { flowRunId: string }) => x.flowRunId),
    ).toEqual([childId]);
  });
});
