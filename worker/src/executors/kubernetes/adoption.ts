import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelay, sleep } from '../../backoff.js';
import { type Cluster, describeKubeError, statusOf } from './cluster.js';

/*
 * Finding the Jobs an earlier process of this worker left running, wherever it put them. A Job goes
 * to the namespace its deployment's job variables name, else its base job template's, else the
 * worker's; a restarted worker looks in all of those it can know of: its own, its template's, and
 * every namespace it recorded when it created a Job there.
 */

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The namespaces this worker created Jobs in, one a line in a file of its spool directory, so a
 * restarted worker with the same spool directory looks for its Jobs in namespaces that only a
 * deployment's job variables named. Written before the Job is created: a worker that dies right
 * after creating one has recorded where.
 */
export class NamespaceRecord {
  #known: Set<string> | null = null;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  /** Every recorded namespace. */
  read(): string[] {
    this.#known ??= this.#load();
    return [...this.#known];
  }

  /** Records the namespace unless it is known; a file that cannot be written is logged, never fatal. */
  add(namespace: string): void {
    this.#known ??= this.#load();
    if (this.#known.has(namespace)) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      appendFileSync(this.path, `${namespace}\n`);
      this.#known.add(namespace);
    } catch (error) {
      this.logger.warn(
        { err: error, namespace, path: this.path },
        `could not record namespace ${namespace}: a restarted worker finds Jobs there only if another source names it`,
      );
    }
  }

  #load(): Set<string> {
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      // No file yet: no Job was created outside the namespaces the worker knows anyway.
    }
    return new Set(text.split('\n').filter((line) => NAMESPACE.test(line)));
  }
}

export interface ListPolicy {
  /** Backoff between tries. */
  backoff: BackoffPolicy;
  /** How long the listing of one namespace may keep failing before adoption gives up. */
  boundMs: number;
}

/**
 * Up to a minute: long enough for an API server restart or a control-plane upgrade's blip, short
 * enough that a worker that cannot see its Jobs says so and exits (its pod is restarted) rather than
 * waiting silently.
 */
export const DEFAULT_LIST_POLICY: ListPolicy = { backoff: { baseMs: 250, maxMs: 5_000 }, boundMs: 60_000 };

function seconds(ms: number): string {
  return `${ms >= 10_000 ? Math.round(ms / 1000) : ms / 1000} s`;
}

/** A namespace whose Jobs could not be listed within the bound: adoption cannot say what is running. */
export class JobListingError extends Error {
  override readonly name = 'JobListingError';
}

/**
 * This worker's Jobs (by `selector`) in each namespace. A failed listing is retried with backoff —
 * concluding "no Jobs" would let the API crash and retry runs whose Jobs still run, so they would
 * run twice — with one warning line when it first fails, until `policy.boundMs`; then it throws
 * `JobListingError`. A 403 is the exception: the worker may not list Jobs there, so it cannot have
 * managed any; that namespace is skipped with a warning.
 */
export async function listOwnJobs(
  cluster: Pick<Cluster, 'batch'>,
  namespaces: readonly string[],
  selector: string,
  logger: Logger,
  policy: ListPolicy = DEFAULT_LIST_POLICY,
): Promise<V1Job[]> {
  const jobs: V1Job[] = [];
  for (const namespace of namespaces) {
    const started = Date.now();
    for (let failures = 0; ; ) {
      try {
        const list = await cluster.batch.listNamespacedJob({ namespace, labelSelector: selector });
        for (const job of list.items) {
          job.metadata ??= {};
          job.metadata.namespace ??= namespace;
          jobs.push(job);
        }
        if (failures > 0) logger.info({ namespace, tries: failures + 1 }, `listed this worker's Jobs in namespace ${namespace}`);
        break;
      } catch (error) {
        const why = describeKubeError(error);
        if (statusOf(error) === 403) {
          logger.warn({ namespace }, `may not list Jobs in namespace ${namespace} (${why}); adopting none there`);
          break;
        }
        failures++;
        if (Date.now() - started >= policy.boundMs) {
          throw new JobListingError(
            `could not list this worker's Jobs in namespace ${namespace} for ${seconds(policy.boundMs)} (${failures} tries): ${why}`,
            { cause: error },
          );
        }
        if (failures === 1) {
          logger.warn(
            { namespace, err: error },
            `could not list this worker's Jobs in namespace ${namespace} (${why}); retrying for up to ${seconds(policy.boundMs)} before giving up`,
          );
        }
        await sleep(Math.min(backoffDelay(failures, policy.backoff), Math.max(0, started + policy.boundMs - Date.now())));
      }
    }
  }
  return jobs;
}
