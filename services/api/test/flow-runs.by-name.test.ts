import { describe, expect, test } from 'vitest';
import { createRun, deploy, useOtherWorkspaceOwner, useServer } from './helpers.js';

const api = useServer();
const other = useOtherWorkspaceOwner(api);

describe('listing flow runs by name', () => {
  test('finds every run of the workspace carrying exactly that name, newest first, and none of another workspace', async () => {
    const ours = await deploy(api.owner, { flowName: 'named', name: 'n' });
    const first = await createRun(api.owner, ours.id, { name: 'calm-otter' });
    const second = await createRun(api.owner, ours.id, { name: 'calm-otter' });
    await createRun(api.owner, ours.id, { name: 'calm-otters' });
    const theirs = await deploy(other, { flowName: 'named', name: 'n' });
    const foreign = await createRun(other, theirs.id, { name: 'calm-otter' });

    const listed = await api.owner('GET', '/flow-runs?name=calm-otter&limit=200');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([second.id, first.id]);

    const fromOther = await other('GET', '/flow-runs?name=calm-otter');
    expect(fromOther.body.items.map((r: { id: string }) => r.id)).toEqual([foreign.id]);

    expect((await api.owner('GET', '/flow-runs?name=CALM-OTTER')).body.items).toEqual([]);
  });

  test('an empty name is a 400 naming the field', async () => {
    const res = await api.owner('GET', '/flow-runs?name=');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('query.name');
  });
});
