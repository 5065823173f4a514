import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/*
 * Which addresses the control plane may dial on a tenant's behalf (notification webhooks, Slack,
 * an OIDC issuer and the endpoints its discovery document names). A hosted control plane must not
 * let a URL a tenant typed reach its own network: the cloud metadata service, the database, a
 * neighbour's admin port, this host itself. Every address a name resolves to is checked, and the
 * connection is then made to exactly the addresses that were checked (outbound-request.ts), so a
 * name that resolves elsewhere a moment later (DNS rebinding) changes nothing.
 *
 * Refused: every range of IANA's IPv4 and IPv6 Special-Purpose Address Registries, all of IPv6
 * outside 2000::/3 (the only space allocated for global unicast), and the addresses of this
 * host's own interfaces. IPv4 carried inside IPv6 (mapped, NAT64, 6to4) is judged as the IPv4
 * address it carries.
 */

/** What an operator lets outbound requests reach beyond the public internet. */
export type OutboundAllowance =
  /** Public addresses only: a hosted control plane. */
  | 'none'
  /** Also 127.0.0.0/8 and ::1: development and tests (OIDC issuers over loopback HTTP). */
  | 'loopback'
  /**
   * Also private-use networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) and this host's own
   * addresses: a self-hosted control plane notifying internal services. Link-local (the metadata
   * service), multicast, documentation and reserved ranges stay refused.
   */
  | 'private-networks';

/** What a special-purpose range is, and which allowance (if any) lets it be dialled. */
interface SpecialRange {
  label: string;
  coveredBy: 'loopback' | 'private-networks' | null;
  list: BlockList;
}

function range(net: string, bits: number, family: 'ipv4' | 'ipv6', label: string, coveredBy: SpecialRange['coveredBy'] = null) {
  const list = new BlockList();
  list.addSubnet(net, bits, family);
  return { label, coveredBy, list };
}

// IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates); broadcast is inside 240.0.0.0/4.
const IPV4_RANGES: SpecialRange[] = [
  range('0.0.0.0', 8, 'ipv4', '"this network" (0.0.0.0/8)'),
  range('10.0.0.0', 8, 'ipv4', 'a private-use network (10.0.0.0/8)', 'private-networks'),
  range('100.64.0.0', 10, 'ipv4', 'shared address space (100.64.0.0/10)', 'private-networks'),
  range('127.0.0.0', 8, 'ipv4', 'loopback (127.0.0.0/8)', 'loopback'),
  range('169.254.0.0', 16, 'ipv4', 'link-local (169.254.0.0/16)'),
  range('172.16.0.0', 12, 'ipv4', 'a private-use network (172.16.0.0/12)', 'private-networks'),
  range('192.0.0.0', 24, 'ipv4', 'IETF protocol assignments (192.0.0.0/24)'),
  range('192.0.2.0', 24, 'ipv4', 'documentation (192.0.2.0/24)'),
  range('192.31.196.0', 24, 'ipv4', 'AS112 (192.31.196.0/24)'),
  range('192.52.193.0', 24, 'ipv4', 'AMT (192.52.193.0/24)'),
  range('192.88.99.0', 24, 'ipv4', 'the deprecated 6to4 relay anycast (192.88.99.0/24)'),
  range('192.168.0.0', 16, 'ipv4', 'a private-use network (192.168.0.0/16)', 'private-networks'),
  range('192.175.48.0', 24, 'ipv4', 'AS112 (192.175.48.0/24)'),
  range('198.18.0.0', 15, 'ipv4', 'benchmarking (198.18.0.0/15)'),
  range('198.51.100.0', 24, 'ipv4', 'documentation (198.51.100.0/24)'),
  range('203.0.113.0', 24, 'ipv4', 'documentation (203.0.113.0/24)'),
  range('224.0.0.0', 4, 'ipv4', 'multicast (224.0.0.0/4)'),
  range('240.0.0.0', 4, 'ipv4', 'reserved or broadcast (240.0.0.0/4)'),
];

// IANA IPv6 Special-Purpose Address Registry, as far as it lies inside 2000::/3; everything outside
// it (::/128, ::1, ::/96, 100::/64, fc00::/7, fe80::/10, ff00::/8, …) is refused by GLOBAL_UNICAST.
const IPV6_RANGES: SpecialRange[] = [
  range('2001::', 23, 'ipv6', 'IETF protocol assignments (2001::/23, Teredo included)'),
  range('2001:db8::', 32, 'ipv6', 'documentation (2001:db8::/32)'),
  range('3fff::', 20, 'ipv6', 'documentation (3fff::/20)'),
];
const GLOBAL_UNICAST = range('2000::', 3, 'ipv6', '').list;
const LOOPBACK_V6 = range('::1', 128, 'ipv6', '').list;
const UNIQUE_LOCAL = range('fc00::', 7, 'ipv6', '').list;

/** Why an address may not be dialled, and which allowance would let it. */
export interface AddressVerdict {
  address: string;
  /** null: a public address that is not this host's. */
  reason: string | null;
  coveredBy: 'loopback' | 'private-networks' | null;
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted quad included), or null. */
function ipv6Words(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length;
  const words = [...left, ...Array<string>(zeros).fill('0'), ...right].map((w) => Number.parseInt(w, 16));
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : null;
}

const v4FromWords = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/** The IPv4 address an IPv6 address carries and how: mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96), 6to4 (2002::/16). */
function embeddedIpv4(words: number[]): { v4: string; how: string } | null {
  const w = (i: number) => words[i] ?? 0;
  const zeroUpTo = (n: number) => words.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(5) && w(5) === 0xffff) return { v4: v4FromWords(w(6), w(7)), how: 'IPv4-mapped' };
  if (w(0) === 0x64 && w(1) === 0xff9b && words.slice(2, 6).every((x) => x === 0)) {
    return { v4: v4FromWords(w(6), w(7)), how: 'NAT64' };
  }
  if (w(0) === 0x2002) return { v4: v4FromWords(w(1), w(2)), how: '6to4' };
  return null;
}

/** The canonical text of an address, so that the host's own list and a resolved address compare equal. */
export function canonicalAddress(address: string): string {
  const words = ipv6Words(address);
  if (!words) return address;
  const embedded = embeddedIpv4(words);
  if (embedded?.how === 'IPv4-mapped') return embedded.v4;
  return words.map((w) => w.toString(16)).join(':');
}

/** The addresses of this host's interfaces, read when asked: interfaces come and go. */
export function ownAddresses(): Set<string> {
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) own.add(canonicalAddress(info.address));
  }
  return own;
}

function rangeVerdict(address: string): Omit<AddressVerdict, 'address'> {
  const family = isIP(address);
  if (family === 4) {
    const hit = IPV4_RANGES.find((r) => r.list.check(address, 'ipv4'));
    return hit ? { reason: `is ${hit.label}`, coveredBy: hit.coveredBy } : { reason: null, coveredBy: null };
  }
  const words = family === 6 ? ipv6Words(address) : null;
  if (!words) return { reason: 'is not an IP address', coveredBy: null };
  const embedded = embeddedIpv4(words);
  if (embedded) {
    const inner = rangeVerdict(embedded.v4);
    // Mapped addresses are the IPv4 address itself; NAT64 and 6to4 reach it through a gateway.
    if (embedded.how === 'IPv4-mapped' || inner.reason) {
      return inner.reason ? { reason: `carries ${embedded.v4}, which ${inner.reason}`, coveredBy: inner.coveredBy } : inner;
    }
  }
  if (LOOPBACK_V6.check(address, 'ipv6')) return { reason: 'is loopback (::1)', coveredBy: 'loopback' };
  if (UNIQUE_LOCAL.check(address, 'ipv6')) {
    return { reason: 'is a unique-local network (fc00::/7)', coveredBy: 'private-networks' };
  }
  if (!GLOBAL_UNICAST.check(address, 'ipv6')) {
    return { reason: 'is outside the global unicast space (2000::/3)', coveredBy: null };
  }
  const hit = IPV6_RANGES.find((r) => r.list.check(address, 'ipv6'));
  return hit ? { reason: `is ${hit.label}`, coveredBy: hit.coveredBy } : { reason: null, coveredBy: null };
}

/** What the registries and this host's interfaces (canonical addresses, as ownAddresses gives them) say about one IP address. */
export function judgeAddress(address: string, own: ReadonlySet<string> = ownAddresses()): AddressVerdict {
  const verdict = rangeVerdict(address);
  if (verdict.coveredBy === 'loopback' || !own.has(canonicalAddress(address))) return { address, ...verdict };
  // One of this host's own addresses is the host itself, however public it looks.
  return { address, reason: verdict.reason ?? "is one of this server's own addresses", coveredBy: 'private-networks' };
}

/** Whether the allowance lets an address with this verdict be dialled. */
export function allowed(verdict: AddressVerdict, allowance: OutboundAllowance): boolean {
  if (verdict.reason === null) return true;
  if (verdict.coveredBy === 'loopback') return allowance !== 'none';
  return verdict.coveredBy === 'private-networks' && allowance === 'private-networks';
}

/** A destination the control plane will not dial. Its message names the address and why; it is for operators and admins. */
export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused';
}

/** Throws OutboundRefused unless every address may be dialled. */
export function assertAddresses(host: string, addresses: readonly string[], allowance: OutboundAllowance): void {
  const own = ownAddresses();
  for (const address of addresses) {
    const verdict = judgeAddress(address, own);
    if (!allowed(verdict, allowance)) {
      const via = host === address ? address : `${host} resolves to ${address}, which`;
      throw new OutboundRefused(`${via} ${verdict.reason}`);
    }
  }
}

/** The host of a URL as an address when it is an IP literal (brackets removed), else null. */
export function literalHost(url: URL): string | null {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(host) ? host : null;
}

/** Resolves a host name to all its addresses, as getaddrinfo (and so /etc/hosts) answers. */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

/*
 * getaddrinfo runs on libuv's thread pool (4 threads by default), which password hashing and file
 * I/O share. A tenant's name whose DNS server never answers holds a thread for the resolver's whole
 * timeout, so at most 2 of these run at once and at most 100 wait; past that a lookup fails at once
 * (a save lets the name through to be judged when dialled; a delivery attempt fails and is retried).
 */
export function boundedResolver(resolve: HostResolver, limits: { inFlight: number; queued: number }): HostResolver {
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  return async (hostname) => {
    if (inFlight >= limits.inFlight) {
      if (waiting.length >= limits.queued) throw new Error('too many host names are being resolved; try again shortly');
      // The slot is handed over by the lookup that ends, so a newcomer cannot take it in between.
      await new Promise<void>((wake) => waiting.push(wake));
    } else {
      inFlight += 1;
    }
    try {
      return await resolve(hostname);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else inFlight -= 1;
    }
  };
}

const getaddrinfo: HostResolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family: 0 }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

export const systemResolver: HostResolver = boundedResolver(getaddrinfo, { inFlight: 2, queued: 100 });

/**
 * The addresses a host may be dialled at: the IP literal, or every address the name resolves to,
 * all of them checked. Throws OutboundRefused when any one is refused (a name with one private
 * address among public ones is refused whole: which one gets dialled is not ours to pick), and the
 * resolver's error when the name does not resolve.
 */
export async function resolveHost(
  host: string,
  allowance: OutboundAllowance,
  resolver: HostResolver = systemResolver,
): Promise<LookupAddress[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) {
    assertAddresses(bare, [bare], allowance);
    return [{ address: bare, family: isIP(bare) }];
  }
  const addresses = await resolver(bare);
  if (addresses.length === 0) throw new OutboundRefused(`${bare} has no address`);
  assertAddresses(
    bare,
    addresses.map((a) => a.address),
    allowance,
  );
  return addresses;
}

/** resolveHost for a URL's host. */
export const resolveDestination = (url: URL, allowance: OutboundAllowance, resolver?: HostResolver) =>
  resolveHost(url.hostname, allowance, resolver);

/**
 * The check of a save (a channel's URL, an OIDC issuer): literals and names that resolve now are
 * judged as they would be when dialled. A name that does not resolve yet is let through: it is
 * judged again each time it is dialled. Returns the reason for a refusal, or null.
 */
export async function refusalAtSave(
  url: URL,
  allowance: OutboundAllowance,
  resolver: HostResolver = systemResolver,
  timeoutMs = 3000,
): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    return await Promise.race([
      resolveDestination(url, allowance, resolver).then(
        () => null,
        (error: unknown) => (error instanceof OutboundRefused ? error.message : null),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
