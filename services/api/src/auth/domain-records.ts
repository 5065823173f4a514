import { Resolver } from 'node:dns/promises';
import { DomainError } from '../domain-error.js';

/*
 * TXT lookups for proving that an organisation holds an email domain (docs/organisations.md,
 * "Single sign-on for the organisation"). A lookup is bounded in time: two tries of 2 s each at most
 * per server, so a hostile or dead name server holds a request for seconds, not minutes.
 */

/** Where the TXT record that proves a domain lives. */
export const DOMAIN_CHALLENGE_PREFIX = '_outpost-challenge';
/** What its value starts with, before the organisation's token. */
export const DOMAIN_CHALLENGE_VALUE = 'outpost-domain-verification=';

const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'NXDOMAIN']);

export class DomainRecords {
  readonly #resolver: Resolver;

  /** `servers`: name servers to ask instead of the system's (`host:port`), as tests run their own on 127.0.0.1. */
  constructor(servers?: readonly string[]) {
    this.#resolver = new Resolver({ timeout: 2000, tries: 2 });
    if (servers && servers.length > 0) this.#resolver.setServers([...servers]);
  }

  /** The TXT values at `name`, each record's strings joined; none when the name or the record does not exist. */
  async txt(name: string): Promise<string[]> {
    try {
      const records = await this.#resolver.resolveTxt(name);
      return records.map((chunks) => chunks.join(''));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== undefined && NO_RECORD.has(code)) return [];
      throw new DomainError('unavailable', `the name servers of ${name} did not answer in time: try again`, {
        cause: error,
        retryAfterSeconds: 30,
      });
    }
  }
}
