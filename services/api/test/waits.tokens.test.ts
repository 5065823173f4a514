import { beforeAll, describe, expect, test } from 'vitest';
import { type Call, client, runInOwnPool, unique, useServer } from './helpers.js';

/*
 * Wait tokens as capabilities: a token wait that names no token gets one the control plane makes
 * (192 random bits), and completing is only for tokens a wait asked for — a runner key cannot
 * pre-answer waits by guessing names.
 */

let worker: Call;
let runner: Call;

const api = useServer();

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
  runner = client(api.server, await api.server.createKey('runner'));
});

/** A RUNNING run in a pool of its own, with its run token's client. */
const runningRun = () => runInOwnPool(api.server, { owner: api.owner, worker }, { deployment: { flowName: unique('tokens') } });

describe('wait tokens', () => {
  test('a token wait that names no token gets an unguessable one, the same on every replay', async () => {
    const held = await runningRun();
    const first = await held.token('POST', `/flow-runs/${held.runId}/waits`, { body: { key: 'cb', spec: { kind: 'token' } } });
    expect(first.status, first.text).toBe(200);
    const made: string = first.body.wait.spec.token;
    // "wt_" and 24 random bytes in base64url: 192 bits.
    expect(made).toMatch(/^wt_[A-Za-z0-9_-]{32}$/);
    const again = await held.token('POST', `/flow-runs/${held.runId}/waits`, { body: { key: 'cb', spec: { kind: 'token' } } });
    expect(again.body.wait).toMatchObject({ id: first.body.wait.id, spec: { kind: 'token', token: made } });
    const other = await runningRun();
    const second = await other.token('POST', `/flow-runs/${other.runId}/waits`, { body: { key: 'cb', spec: { kind: 'token' } } });
    expect(second.body.wait.spec.token).not.toBe(made);
  });

  test('a runner key completing a token no wait asked for is refused, and nothing is stored for later', async () => {
    const guessed = unique('approve');
    const refused = await runner('POST', `/wait-tokens/${guessed}/complete`, { body: { value: 'pre-answered' } });
    expect(refused.status).toBe(404);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.detail).toMatch(/no wait asks for the token/);
    const [row] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM wait_tokens WHERE workspace_id = ${api.server.workspaceId} AND token = ${guessed}`;
    expect(row?.n).toBe(0);
  });

  test('a generated token is completed once: its wait resolves with the first value, a repeat changes nothing', async () => {
    const held = await runningRun();
    const begun = await held.token('POST', `/flow-runs/${held.runId}/waits`, { body: { key: 'cb', spec: { kind: 'token' } } });
    const made: string = begun.body.wait.spec.token;
    expect(begun.body.wait.status).toBe('WAITING');
    const done = await runner('POST', `/wait-tokens/${made}/complete`, { body: { value: { rows: 3 } } });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ token: made, wait: { id: begun.body.wait.id, status: 'RESOLVED', value: { rows: 3 } } });
    const repeat = await runner('POST', `/wait-tokens/${made}/complete`, { body: { value: 'later' } });
    expect(repeat.status).toBe(200);
    expect(repeat.body.wait).toMatchObject({ id: begun.body.wait.id, value: { rows: 3 } });
    // Another workspace's key does not reach the token at all.
    const elsewhere = await api.server.createWorkspace();
    const foreign = await client(api.server, elsewhere.ownerKey)('POST', `/wait-tokens/${made}/complete`, { body: { value: 1 } });
    expect(foreign.status).toBe(404);
  });
});
