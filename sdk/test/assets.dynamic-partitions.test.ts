import { describe, expect, it, vi } from 'vitest';
import { addDynamicPartitions, flow } from '../src/index.js';

describe('addDynamicPartitions, run locally', () => {
  it('keeps a set in the process, each key once, in the order added, and says how many were new', async () => {
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const grow = flow({ name: 'grow-customers' }, async () => {
        const first = await addDynamicPartitions('local-customers', ['acme', 'globex', 'acme']);
        const second = await addDynamicPartitions('local-customers', ['globex', 'initech']);
        return { first, second };
      });
      const { first, second } = await grow();
      expect(first).toEqual({ name: 'local-customers', keys: ['acme', 'globex'], added: 2 });
      expect(second).toEqual({ name: 'local-customers', keys: ['acme', 'globex', 'initech'], added: 1 });
    } finally {
      quiet.mockRestore();
    }
  });

  it('refuses to run outside a flow, and refuses bad names and keys with what is wrong', async () => {
    await expect(addDynamicPartitions('customers', ['acme'])).rejects.toThrow(/called inside a flow or an asset/);
    const bad = flow({ name: 'bad-partitions' }, async () => {
      const name = await addDynamicPartitions('no spaces', ['a']).catch((e: Error) => e.message);
      const key = await addDynamicPartitions('customers', ['ok', 'a|b']).catch((e: Error) => e.message);
      return { name, key };
    });
    const { name, key } = await bad();
    expect(name).toContain("invalid dynamic partition set name 'no spaces'");
    expect(key).toContain("invalid partition key at 1 ('a|b')");
  });
});
