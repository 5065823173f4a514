import { Resolver } from 'node:dns/promises';
import { DomainError } from '../domain-error.js';

/*
 * TXT lookups for proving that an organisation holds an email domain (docs/organisations.md,
 * "Single sign-on for the organisation"). A lookup is bounded in time: it is abandoned (and its
 * queries cancelled) after LOOKUP_MS, whatever the resolver's own retries would do, so a hostile or
 * dead name server holds a request for seconds, not minutes.
 */

/** How long one lookup may take in all. */
export const LOOKUP_MS = 4000;

/** Where the TXT record that proves a domain lives. */
export const DOMAIN_CHALLENGE_PREFIX = '_outpost-challenge';
/** What its value starts with, before the organisation's token. */
export const DOMAIN_CHALLENGE_VALUE = 'outpost-domain-verification=';

const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'NXDOMAIN']);

export class DomainRecords {
  readonly #servers: readonly string[] | undefined;

  /** `servers`: name servers to ask instead of the system's (`host:port`), as tests run their own on 127.0.0.1. */
  constructor(servers?: readonly string[]) {
    this.#servers = servers && servers.length > 0 ? [...servers] : undefined;
  }

  /** The TXT values at `name`, each record's strings joined; none when the name or the record does not exist. */
  async txt(name: string): Promise<string[]> {
    // A resolver per lookup, so cancelling one at its deadline cancels nobody else's.
    const resolver = new Resolver({ timeout: 1500, tries: 2 });
    if (this.#servers) resolver.setServers([...this.#servers]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        resolver.cancel();
        reject(Object.assign(new Error(`no answer within ${LOOKUP_MS} ms`), { code: 'ETIMEOUT' }));
      }, LOOKUP_MS);
    });
    try {
      const records = await Promise.race([resolver.resolveTxt(name), deadline]);
      return records.map((chunks) => chunks.join(''));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== undefined && NO_RECORD.has(code)) return [];
      throw new DomainError('unavailable', `the name servers of ${name} did not answer in time: try again`, {
        cause: error,
        retryAfterSeconds: 30,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
