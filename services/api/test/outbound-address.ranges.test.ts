import { networkInterfaces } from 'node:os';
import { describe, expect, test } from 'vitest';
import {
  allowed,
  boundedResolver,
  canonicalAddress,
  judgeAddress,
  OutboundRefused,
  ownAddresses,
  refusalAtSave,
  resolveDestination,
} from '../src/outbound/address.js';

// Nothing in this file opens a connection: every refusal is decided before one would be made.

const NO_OWN = new Set<string>();

describe('special-purpose ranges', () => {
  test.each([
    ['0.0.0.0', '"this network"'],
    ['0.1.2.3', '"this network"'],
    ['10.0.0.1', 'private-use'],
    ['100.64.0.1', 'shared address space'],
    ['100.127.255.254', 'shared address space'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['172.16.0.1', 'private-use'],
    ['172.31.255.255', 'private-use'],
    ['192.0.0.8', 'IETF protocol assignments'],
    ['192.0.2.10', 'documentation'],
    ['192.88.99.1', '6to4 relay'],
    ['192.168.1.1', 'private-use'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'outside the global unicast space'],
    ['::1', 'loopback (::1)'],
    ['::ffff:127.0.0.1', 'carries 127.0.0.1, which is loopback'],
    ['::ffff:a9fe:a9fe', 'carries 169.254.169.254, which is link-local'],
    ['::7f00:1', 'outside the global unicast space'],
    ['64:ff9b::a00:1', 'carries 10.0.0.1, which is a private-use network'],
    ['64:ff9b:1::1', 'outside the global unicast space'],
    ['100::1', 'outside the global unicast space'],
    ['2001::1', 'IETF protocol assignments'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2002:7f00:1::', 'carries 127.0.0.1, which is loopback'],
    ['2002:c0a8:101::1', 'carries 192.168.1.1'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'outside the global unicast space'],
    ['ff02::1', 'outside the global unicast space'],
  ])('%s is refused as %s', (address, why) => {
    const verdict = judgeAddress(address, NO_OWN);
    expect(verdict.reason).toContain(why);
    expect(allowed(verdict, 'none')).toBe(false);
  });

  test.each([
    '1.1.1.1',
    '8.8.8.8',
    '93.184.216.34',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.3.1',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '::ffff:8.8.8.8',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
    '2002:808:808::1',
  ])('%s is a public address', (address) => {
    const verdict = judgeAddress(address, NO_OWN);
    expect(verdict.reason).toBeNull();
    expect(allowed(verdict, 'none')).toBe(true);
  });

  test('the loopback allowance lets loopback through and nothing else', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      expect(allowed(judgeAddress(address, NO_OWN), 'loopback')).toBe(true);
    }
    for (const address of ['10.0.0.1', '192.168.0.1', 'fd00::1', '169.254.169.254', '0.0.0.0', '::']) {
      expect(allowed(judgeAddress(address, NO_OWN), 'loopback')).toBe(false);
    }
  });

  test('the private-networks allowance opens private-use networks but never link-local, multicast or reserved ranges', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.7.7', '100.64.1.1', 'fd00::5', '::1']) {
      expect(allowed(judgeAddress(address, NO_OWN), 'private-networks')).toBe(true);
    }
    for (const address of ['169.254.169.254', 'fe80::1', '224.0.0.1', '255.255.255.255', '0.0.0.0', '192.0.2.1', '::']) {
      expect(allowed(judgeAddress(address, NO_OWN), 'private-networks')).toBe(false);
    }
  });
});

describe("this host's own addresses", () => {
  const own = Object.values(networkInterfaces())
    .flat()
    .filter((info) => info !== undefined && !info.internal)
    .map((info) => info?.address ?? '');

  test('every non-loopback interface address of this host is refused, whatever its range', () => {
    const ownSet = ownAddresses();
    for (const address of own) {
      const verdict = judgeAddress(address, ownSet);
      expect(verdict.reason, address).not.toBeNull();
      expect(allowed(verdict, 'none'), address).toBe(false);
      expect(allowed(verdict, 'loopback'), address).toBe(false);
    }
  });

  test('an address that would be public is refused when it is one of the host’s own, in any spelling', () => {
    const ownSet = new Set(['198.41.0.4', '2001:503:ba3e::2:30'].map(canonicalAddress));
    expect(judgeAddress('198.41.0.4', ownSet).reason).toBe("is one of this server's own addresses");
    expect(judgeAddress('::ffff:198.41.0.4', ownSet).reason).toBe("is one of this server's own addresses");
    expect(judgeAddress('2001:0503:ba3e:0:0:0:2:30', ownSet).reason).toBe("is one of this server's own addresses");
    expect(allowed(judgeAddress('198.41.0.4', ownSet), 'loopback')).toBe(false);
    // A self-hosted server that may reach private networks may reach itself.
    expect(allowed(judgeAddress('198.41.0.4', ownSet), 'private-networks')).toBe(true);
    expect(judgeAddress('198.41.0.5', ownSet).reason).toBeNull();
  });

  test('the interface list is read from the system, loopback included', () => {
    const ownSet = ownAddresses();
    expect(ownSet.has('127.0.0.1')).toBe(true);
    for (const address of own) expect(ownSet.has(canonicalAddress(address)), address).toBe(true);
  });
});

describe('numeric spellings of an address', () => {
  test.each([
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://127.0.0.1./', 'loopback'],
    ['http://%31%32%37.0.0.1/', 'loopback'],
    ['http://0/', '"this network"'],
    ['http://[::ffff:127.0.0.1]/', 'carries 127.0.0.1'],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', 'carries 127.0.0.1'],
    ['http://[::127.0.0.1]/', 'outside the global unicast space'],
    ['http://[::ffff:a9fe:a9fe]/latest/meta-data', 'link-local'],
    ['http://0xa9.0xfe.0xa9.0xfe/', 'link-local'],
    ['http://2852039166/', 'link-local'],
    ['https://[fd00::1]:8443/', 'unique-local'],
  ])('%s is refused as %s without a lookup', async (raw, why) => {
    const resolver = () => Promise.reject(new Error('a literal must not be looked up'));
    const error = await resolveDestination(new URL(raw), 'none', resolver).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRefused);
    expect((error as Error).message).toContain(why);
  });
});

describe('names', () => {
  const resolving =
    (table: Record<string, string[]>) =>
    async (name: string): Promise<{ address: string; family: number }[]> =>
      (table[name] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  test('a name is refused when any one of its addresses is, even among public ones', async () => {
    const resolver = resolving({ 'mixed.test': ['93.184.216.34', '10.0.0.7'], 'public.test': ['93.184.216.34'] });
    await expect(resolveDestination(new URL('https://mixed.test/hook'), 'none', resolver)).rejects.toThrow(
      'mixed.test resolves to 10.0.0.7, which is a private-use network (10.0.0.0/8)',
    );
    await expect(resolveDestination(new URL('https://public.test/hook'), 'none', resolver)).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
  });

  test('localhost is resolved like any name and refused as loopback', async () => {
    const error = await resolveDestination(new URL('http://localhost:9/'), 'none').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRefused);
    expect((error as Error).message).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), which is loopback/);
  });

  test('a save refuses a name resolving to a refused address, and lets a name that does not resolve yet through', async () => {
    const resolver = async (name: string) => {
      if (name === 'inside.test') return [{ address: '172.16.5.5', family: 4 }];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    };
    expect(await refusalAtSave(new URL('https://inside.test/'), 'none', resolver)).toBe(
      'inside.test resolves to 172.16.5.5, which is a private-use network (172.16.0.0/12)',
    );
    expect(await refusalAtSave(new URL('https://later.test/'), 'none', resolver)).toBeNull();
  });

  test('a save does not wait on a resolver that never answers', async () => {
    const started = Date.now();
    const never = () => new Promise<never>(() => {});
    expect(await refusalAtSave(new URL('https://slow.test/'), 'none', never, 50)).toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('system lookups', () => {
  test('at most the allowed number of lookups run at once, a few wait, and the rest fail at once', async () => {
    const started: string[] = [];
    const release: (() => void)[] = [];
    const slow = (name: string) =>
      new Promise<{ address: string; family: number }[]>((resolve) => {
        started.push(name);
        release.push(() => resolve([{ address: '93.184.216.34', family: 4 }]));
      });
    const bounded = boundedResolver(slow, { inFlight: 1, queued: 1 });
    const first = bounded('a.test');
    const second = bounded('b.test');
    await expect(bounded('c.test')).rejects.toThrow('too many host names are being resolved');
    expect(started).toEqual(['a.test']);
    release[0]?.();
    await expect(first).resolves.toHaveLength(1);
    await expect.poll(() => started).toEqual(['a.test', 'b.test']);
    release[1]?.();
    await expect(second).resolves.toHaveLength(1);
    // The slot is free again: the next lookup starts at once.
    const third = bounded('d.test');
    await expect.poll(() => started.at(-1)).toBe('d.test');
    release[2]?.();
    await third;
  });
});
