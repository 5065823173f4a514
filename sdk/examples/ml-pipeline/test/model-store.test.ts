import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, signBytes, startLocalModelStore } from '../src/model-store.js';

const KEY = 'test-signing-key-5b7c1e0d9a';

describe('the local model store', () => {
  it('takes a file only with the signature of its body made with its key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ml-store-test-'));
    const store = await startLocalModelStore(dir, KEY);
    try {
      const put = (signature: string) =>
        fetch(new URL('a/b.txt', store.url), { method: 'PUT', body: 'hello', headers: { [SIGNATURE_HEADER]: signature } });
      expect((await put(signBytes('wrong-key-wrong-key', 'hello'))).status).toBe(403);
      expect((await put(signBytes(KEY, 'hello'))).status).toBe(201);
      const got = await fetch(new URL('a/b.txt', store.url));
      expect(await got.text()).toBe('hello');
      expect((await fetch(new URL('../../etc/passwd', store.url))).status).toBe(404);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
