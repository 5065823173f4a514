import type { JsonWebKey } from 'node:crypto';
import type { Sql } from '../db/client.js';
import type { SecretBox } from '../db/secret-box.js';
import { type RunTokenClaims, RunTokenError, RunTokenIssuer } from './run-token.js';
import { loadSigningKeys } from './signing-keys.js';

/** How often a token that fails to verify may trigger a reload of the keys (another replica may have added one). */
const RELOAD_INTERVAL_MS = 30_000;
/** Keys are re-read at least this often, so a rotation reaches every replica well before the new key signs. */
const REFRESH_INTERVAL_MS = 60_000;

/** Signs and verifies run tokens with the keys stored in the database. */
export class RunTokens {
  #issuer: RunTokenIssuer;
  #loadedAt = Date.now();
  #reloading: Promise<void> | null = null;

  readonly #refreshMs: number;

  private constructor(
    private readonly sql: Sql,
    issuer: RunTokenIssuer,
    refreshMs: number,
    private readonly box: SecretBox | null,
  ) {
    this.#issuer = issuer;
    this.#refreshMs = refreshMs;
  }

  /**
   * `refreshMs`: how often the keys are re-read (tests shorten it; it must stay well below a rotation's
   * publish time). `secretBox`: seals the private keys in the database (OUTPOST_SECRET_KEY).
   */
  static async load(sql: Sql, options: { refreshMs?: number; secretBox?: SecretBox | null } = {}): Promise<RunTokens> {
    const box = options.secretBox ?? null;
    return new RunTokens(sql, new RunTokenIssuer(await loadSigningKeys(sql, box)), options.refreshMs ?? REFRESH_INTERVAL_MS, box);
  }

  async sign(claims: RunTokenClaims): Promise<string> {
    if (Date.now() - this.#loadedAt >= this.#refreshMs) await this.#reload();
    return this.#issuer.sign(claims);
  }

  /** The public keys that verify run tokens (current, pending and recently retired), for the JWKS document. */
  async jwks(): Promise<{ keys: JsonWebKey[] }> {
    if (Date.now() - this.#loadedAt >= this.#refreshMs) await this.#reload();
    return this.#issuer.jwks();
  }

  /** Re-reads the keys now (after a rotation in this process). */
  refresh(): Promise<void> {
    return this.#reload();
  }

  /** Throws RunTokenError for anything but a valid, unexpired token signed by a known key. */
  async verify(token: string): Promise<RunTokenClaims> {
    // Best effort: with the database unreachable the keys at hand still verify, and a run token
    // must not turn into a 401 because of an outage elsewhere.
    if (Date.now() - this.#loadedAt >= this.#refreshMs) await this.#reload().catch(() => {});
    try {
      return await this.#issuer.verify(token);
    } catch (error) {
      if (!(error instanceof RunTokenError) || Date.now() - this.#loadedAt < RELOAD_INTERVAL_MS) throw error;
      await this.#reload();
      return this.#issuer.verify(token);
    }
  }

  #reload(): Promise<void> {
    this.#reloading ??= (async () => {
      try {
        this.#issuer = new RunTokenIssuer(await loadSigningKeys(this.sql, this.box));
      } finally {
        this.#loadedAt = Date.now();
        this.#reloading = null;
      }
    })();
    return this.#reloading;
  }
}
