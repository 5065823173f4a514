import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Deployment, DeploymentUpsertRequest } from '@outpost/sdk/contracts';
import * as z from 'zod';
import { WholeFile } from './whole-file.js';

const LedgerFile = z.object({
  version: z.literal(1),
  /** By the API's deployment id: the digest of the request that last registered it from here. */
  deployments: z.record(z.string(), z.string()),
});

/**
 * What `outpost dev` last registered, so that a restart re-registers only what changed. The server
 * cannot say what was declared: schedules and limits are edited there (dashboard, CLI), and a
 * difference between its copy and the config is exactly what a restart must not undo. So the
 * digest of each request sent is kept here, by deployment id (a wiped database has new ids, and
 * everything is registered again).
 */
export class DeployLedger {
  readonly #file: WholeFile;
  readonly #deployments: Map<string, string>;

  private constructor(path: string, deployments: Map<string, string>) {
    this.#file = new WholeFile(path);
    this.#deployments = deployments;
  }

  /** The ledger at `path`; an empty one when the file is missing or unreadable (everything is then registered). */
  static async open(path: string): Promise<DeployLedger> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return new DeployLedger(path, new Map());
    }
    let raw: unknown = null;
    try {
      raw = JSON.parse(text);
    } catch {
      // A torn write: start afresh, which costs one full redeploy.
    }
    const parsed = LedgerFile.safeParse(raw);
    return new DeployLedger(path, new Map(parsed.success ? Object.entries(parsed.data.deployments) : []));
  }

  /**
   * Whether `existing` (the server's deployment) is what `request` would register: the same pinned
   * code, entrypoint and pool on the server, and the same declaration as last sent from here.
   */
  unchanged(existing: Deployment, request: DeploymentUpsertRequest): boolean {
    return (
      existing.source === request.source &&
      existing.entrypoint === request.entrypoint &&
      existing.workPool === request.workPool &&
      (existing.signature ?? null) === (request.signature ?? null) &&
      this.#deployments.get(existing.id) === requestDigest(request)
    );
  }

  record(deploymentId: string, request: DeploymentUpsertRequest): void {
    this.#deployments.set(deploymentId, requestDigest(request));
  }

  /**
   * Written whole; projects deploying at once share a ledger, and each save writes everything
   * recorded so far.
   */
  async save(): Promise<void> {
    await this.#file.write(() => {
      const body = { version: 1, deployments: Object.fromEntries(this.#deployments) } satisfies z.infer<typeof LedgerFile>;
      return `${JSON.stringify(body, null, 2)}\n`;
    });
  }
}

/** sha256 of the request as canonical JSON (object keys sorted), so key order never counts as a change. */
export function requestDigest(request: DeploymentUpsertRequest): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(request)))
    .digest('hex');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, canonical(v)]),
  );
}
