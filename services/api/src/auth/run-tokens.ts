import type { Sql } from '../db/client.js';
import { loadSigningKeys } from '../db/signing-keys.js';
import { type RunTokenClaims, RunTokenError, RunTokenIssuer } from './run-token.js';

/** How often a token that fails to verify may trigger a reload of the keys (another replica may have added one). */
const RELOAD_INTERVAL_MS = 30_000;

/** Signs and verifies run tokens with the keys stored in the database. */
export class RunTokens {
  #issuer: RunTokenIssuer;
  #loadedAt = Date.now();
  #reloading: Promise<void> | null = null;

  private constructor(
    private readonly sql: Sql,
    issuer: RunTokenIssuer,
  ) {
    this.#issuer = issuer;
  }

  static async load(sql: Sql): Promise<RunTokens> {
    return new RunTokens(sql, new RunTokenIssuer(await loadSigningKeys(sql)));
  }

  sign(claims: RunTokenClaims): Promise<string> {
    return this.#issuer.sign(claims);
  }

  /** Throws RunTokenError for anything but a valid, unexpired token signed by a known key. */
  async verify(token: string): Promise<RunTokenClaims> {
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
        this.#issuer = new RunTokenIssuer(await loadSigningKeys(this.sql));
      } finally {
        this.#loadedAt = Date.now();
        this.#reloading = null;
      }
    })();
    return this.#reloading;
  }
}
