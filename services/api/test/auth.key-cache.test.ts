import { expect, test } from 'vitest';
import { client, useServer } from './helpers.js';

const api = useServer();

// An active key is believed for a few seconds after it was looked up (auth/db/api-keys.ts); revoking it
// on this replica must still take effect at once.
test('a key in use is refused on its very next request once revoked', async () => {
  const created = await api.owner('POST', '/api-keys', { body: { name: 'busy', role: 'viewer' } });
  const key: string = created.body.key;
  const viewer = client(api.server, key);
  for (let i = 0; i < 3; i++) expect((await viewer('GET', '/whoami')).status).toBe(200);
  expect((await api.owner('DELETE', `/api-keys/${created.body.apiKey.id}`)).status).toBe(200);
  expect((await viewer('GET', '/whoami')).status).toBe(401);
});

test('a worker key in use is refused on its next claim once revoked', async () => {
  const created = await api.owner('POST', '/api-keys', { body: { name: 'worker', role: 'worker' } });
  const worker = client(api.server, created.body.key);
  const body = { workerId: '00000000-0000-4000-8000-000000000001', limit: 1 };
  expect((await worker('POST', '/work-pools/default/claim', { body })).status).toBe(200);
  expect((await api.owner('DELETE', `/api-keys/${created.body.apiKey.id}`)).status).toBe(200);
  expect((await worker('POST', '/work-pools/default/claim', { body })).status).toBe(401);
});
