import { createHmac } from 'node:crypto';
import type { OutpostEvent } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { client, useServer, useWorkspace } from './helpers.js';

const api = useServer();
const own = useWorkspace(api);

const sign = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

async function create(body: Record<string, unknown>) {
  const res = await own.owner('POST', '/event-webhooks', { body });
  expect(res.status, res.text).toBe(201);
  return res.body as { webhook: { id: string }; path: string; token: string; secret: string };
}

/** Posts over real HTTP, the body exactly as given. */
async function deliver(path: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${api.server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function webhookEvents(sourceId: string): Promise<number> {
  const [row] = await api.server.sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM events WHERE source = 'webhook' AND source_id = ${sourceId}`;
  return row?.n ?? -1;
}

const PUSH = {
  kind: 'github.{{ headers["x-github-event"] }}',
  resource: { kind: 'repository', id: '{{ body.repository.full_name }}' },
  payload: { ref: '{{ body.ref }}', commits: '{{ size(body.commits) }}', branch: 'refs {{ body.ref }}' },
};

describe('inbound webhooks', () => {
  test('a signed delivery becomes one event holding only the template’s fields', async () => {
    const hook = await create({ name: 'github', template: PUSH });
    expect(hook.path).toBe(`/api/v1/hooks/${hook.token}`);
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      commits: [{ id: 'a' }, { id: 'b' }],
      repository: { full_name: 'acme/flows' },
      sender: { login: 'mallory', email: 'secret@example.com' },
    });
    const res = await deliver(hook.path, body, { 'x-outpost-signature': sign(hook.secret, body), 'x-github-event': 'push' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const listed = await own.owner('GET', '/events?kind=github.push');
    const [event] = listed.body.items as OutpostEvent[];
    expect(event).toMatchObject({
      id: res.body.id,
      source: 'webhook',
      resource: { kind: 'repository', id: 'acme/flows' },
      payload: { ref: 'refs/heads/main', commits: 2, branch: 'refs refs/heads/main' },
    });
    expect(Object.keys(event?.payload ?? {}).sort()).toEqual(['branch', 'commits', 'ref']);
    // Nothing of the body the template did not pick is anywhere in the stored row.
    const [row] = await api.server.sql<
      { text: string }[]
    >`SELECT row_to_json(e)::text AS text FROM events e WHERE id = ${res.body.id as string}`;
    expect(row?.text).not.toContain('mallory');
    expect(row?.text).not.toContain('secret@example.com');
    const list = await own.owner('GET', '/event-webhooks');
    const shown = list.body.items.find((w: { id: string }) => w.id === hook.webhook.id);
    expect(shown.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list.body)).not.toContain(hook.secret);
  });

  test('a wrong or missing signature is a 401 and stores nothing', async () => {
    const hook = await create({ name: 'signed', template: { kind: 'ci.done', payload: { ok: '{{ body.ok }}' } } });
    const body = JSON.stringify({ ok: true });
    const wrong = await deliver(hook.path, body, { 'x-outpost-signature': sign('not the secret', body) });
    expect(wrong.status).toBe(401);
    expect(wrong.body.detail).toContain('x-outpost-signature');
    const tampered = await deliver(hook.path, JSON.stringify({ ok: false }), { 'x-outpost-signature': sign(hook.secret, body) });
    expect(tampered.status).toBe(401);
    expect((await deliver(hook.path, body, {})).status).toBe(401);
    expect(await webhookEvents(hook.webhook.id)).toBe(0);
    expect((await deliver(hook.path, body, { 'x-outpost-signature': sign(hook.secret, body) })).status).toBe(202);
    expect(await webhookEvents(hook.webhook.id)).toBe(1);
  });

  test('an unknown token is a 404; after a rotation the old token and secret stop working', async () => {
    const hook = await create({ name: 'rotating', template: { kind: 'rotated.ping' } });
    const body = '{}';
    expect((await deliver('/api/v1/hooks/wh_unknown', body, { 'x-outpost-signature': sign(hook.secret, body) })).status).toBe(
      404,
    );
    const rotated = await own.owner('POST', `/event-webhooks/${hook.webhook.id}/rotate`);
    expect(rotated.status, rotated.text).toBe(200);
    expect((await deliver(hook.path, body, { 'x-outpost-signature': sign(hook.secret, body) })).status).toBe(404);
    expect((await deliver(rotated.body.path, body, { 'x-outpost-signature': sign(hook.secret, body) })).status).toBe(401);
    expect((await deliver(rotated.body.path, body, { 'x-outpost-signature': sign(rotated.body.secret, body) })).status).toBe(202);
    expect((await own.owner('DELETE', `/event-webhooks/${hook.webhook.id}`)).status).toBe(204);
    expect((await deliver(rotated.body.path, body, { 'x-outpost-signature': sign(rotated.body.secret, body) })).status).toBe(404);
  });

  test('GitHub’s header works when the webhook names it', async () => {
    const hook = await create({ name: 'gh', signatureHeader: 'x-hub-signature-256', template: { kind: 'github.ping' } });
    const body = JSON.stringify({ zen: 'Keep it logically awesome.' });
    expect((await deliver(hook.path, body, { 'x-outpost-signature': sign(hook.secret, body) })).status).toBe(401);
    expect((await deliver(hook.path, body, { 'x-hub-signature-256': sign(hook.secret, body) })).status).toBe(202);
  });

  test('a template that does not compile is refused at save with the field and the position', async () => {
    const res = await own.owner('POST', '/event-webhooks', {
      body: { name: 'broken', template: { kind: 'x.y', payload: { sha: 'commit {{ body.after + }}' } } },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('body.template.payload.sha');
    expect(res.body.errors[0].message).toMatch(/\(line 1, column \d+\)$/);
    const unknown = await own.owner('POST', '/event-webhooks', {
      body: { name: 'unknown', template: { kind: '{{ event.kind }}' } },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0]).toMatchObject({ path: 'body.template.kind' });
    expect(unknown.body.errors[0].message).toContain('unknown variable "event"');
    expect((await own.owner('GET', '/event-webhooks')).body.items.map((w: { name: string }) => w.name)).not.toContain('broken');
  });

  test('a body the template cannot evaluate is refused with the reason, and stores nothing', async () => {
    const hook = await create({
      name: 'strict',
      template: { kind: 'order.placed', payload: { total: '{{ body.order.total }}' } },
    });
    const body = JSON.stringify({ nothing: 'here' });
    const res = await deliver(hook.path, body, { 'x-outpost-signature': sign(hook.secret, body) });
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain("the webhook's template cannot be evaluated on this body");
    const badKind = await create({ name: 'badkind', template: { kind: '{{ body.kind }}' } });
    const system = JSON.stringify({ kind: 'flow-run.completed' });
    const refused = await deliver(badKind.path, system, { 'x-outpost-signature': sign(badKind.secret, system) });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain('reserved for system events');
    expect(await webhookEvents(hook.webhook.id)).toBe(0);
    expect(await webhookEvents(badKind.webhook.id)).toBe(0);
  });

  test('a viewer lists webhooks but cannot create one; names are unique per workspace', async () => {
    const viewer = client(api.server, await own.ws.createKey('viewer'));
    expect((await viewer('GET', '/event-webhooks')).status).toBe(200);
    expect((await viewer('POST', '/event-webhooks', { body: { name: 'nope', template: { kind: 'a.b' } } })).status).toBe(403);
    await create({ name: 'twice', template: { kind: 'a.b' } });
    const again = await own.owner('POST', '/event-webhooks', { body: { name: 'twice', template: { kind: 'a.b' } } });
    expect(again.status).toBe(409);
  });
});
