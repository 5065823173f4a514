import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, client, createRun, deploy } from './helpers.js';

let server: TestServer;
let owner: Call;
let other: Call;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  owner = client(server, server.ownerKey);
  other = client(server, (await server.createWorkspace()).ownerKey);
});
afterAll(async () => {
  await server?.close();
});

describe('listing flow runs by name', () => {
  test('finds every run of the workspace carrying exactly that name, newest first, and none of another workspace', async () => {
    const ours = await deploy(owner, { flowName: 'named', name: 'n' });
    const first = await createRun(owner, ours.id, { name: 'calm-otter' });
    const second = await createRun(owner, ours.id, { name: 'calm-otter' });
    await createRun(owner, ours.id, { name: 'calm-otters' });
    const theirs = await deploy(other, { flowName: 'named', name: 'n' });
    const foreign = await createRun(other, theirs.id, { name: 'calm-otter' });

    const listed = await owner('GET', '/flow-runs?name=calm-otter&limit=200');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([second.id, first.id]);

    const fromOther = await other('GET', '/flow-runs?name=calm-otter');
    expect(fromOther.body.items.map((r: { id: string }) => r.id)).toEqual([foreign.id]);

    expect((await owner('GET', '/flow-runs?name=CALM-OTTER')).body.items).toEqual([]);
  });

  test('an empty name is a 400 naming the field', async () => {
    const res = await owner('GET', '/flow-runs?name=');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('query.name');
  });
});
