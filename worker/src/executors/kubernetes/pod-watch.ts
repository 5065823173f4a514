import { type Informer, makeInformer, type ObjectCache, type V1Job, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { backoffDelay } from '../../backoff.js';
import type { Cluster } from './cluster.js';

export interface WatchHandlers {
  pod(pod: V1Pod): void;
  podGone(pod: V1Pod): void;
  job(job: V1Job): void;
  jobGone(job: V1Job): void;
}

/** How often everything is listed again, whatever the watches said: a missed event costs at most this. */
const RESYNC_MS = 15_000;

/**
 * Informers on the Pods and Jobs of one namespace that carry this worker's pool and name labels. A
 * watch that fails is restarted with backoff; a periodic list (the resync) re-delivers every object,
 * so a handler sees each state at least once even across watch gaps. Handlers must be idempotent.
 */
export class PodWatch {
  private pods: (Informer<V1Pod> & ObjectCache<V1Pod>) | null = null;
  private jobs: (Informer<V1Job> & ObjectCache<V1Job>) | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly namespace: string,
    private readonly selector: string,
    private readonly log: Logger,
    private readonly handlers: WatchHandlers,
  ) {}

  start(): void {
    const { core, batch, config } = this.cluster;
    const namespace = this.namespace;
    const labelSelector = this.selector;
    this.pods = makeInformer<V1Pod>(
      config,
      `/api/v1/namespaces/${namespace}/pods`,
      () => core.listNamespacedPod({ namespace, labelSelector }),
      labelSelector,
    );
    this.jobs = makeInformer<V1Job>(
      config,
      `/apis/batch/v1/namespaces/${namespace}/jobs`,
      () => batch.listNamespacedJob({ namespace, labelSelector }),
      labelSelector,
    );
    this.pods.on('add', (pod) => this.safely(() => this.handlers.pod(pod)));
    this.pods.on('update', (pod) => this.safely(() => this.handlers.pod(pod)));
    this.pods.on('delete', (pod) => this.safely(() => this.handlers.podGone(pod)));
    this.jobs.on('add', (job) => this.safely(() => this.handlers.job(job)));
    this.jobs.on('update', (job) => this.safely(() => this.handlers.job(job)));
    this.jobs.on('delete', (job) => this.safely(() => this.handlers.jobGone(job)));
    for (const informer of [this.pods, this.jobs] as Informer<V1Pod | V1Job>[]) {
      informer.on('connect', () => {
        this.failures = 0;
      });
      informer.on('error', (error: unknown) => {
        if (this.stopped) return;
        this.failures++;
        this.log.warn({ err: error, namespace }, 'watch of pods and jobs failed; restarting it');
        setTimeout(() => {
          if (!this.stopped) void informer.start().catch(() => {});
        }, backoffDelay(this.failures));
      });
      void informer.start().catch(() => {});
    }
    this.scheduleResync();
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.error({ err: error }, 'handling a pod or job event failed');
    }
  }

  private scheduleResync(): void {
    if (this.stopped) return;
    this.resyncTimer = setTimeout(() => {
      void this.resync().finally(() => this.scheduleResync());
    }, RESYNC_MS);
  }

  /** Lists the namespace's Jobs and Pods now and delivers each (a pod gone since is caught by its Job's absence). */
  async resync(): Promise<void> {
    const { core, batch } = this.cluster;
    try {
      const [jobs, pods] = await Promise.all([
        batch.listNamespacedJob({ namespace: this.namespace, labelSelector: this.selector }),
        core.listNamespacedPod({ namespace: this.namespace, labelSelector: this.selector }),
      ]);
      if (this.stopped) return;
      for (const job of jobs.items) this.safely(() => this.handlers.job(job));
      for (const pod of pods.items) this.safely(() => this.handlers.pod(pod));
    } catch (error) {
      this.log.warn({ err: error, namespace: this.namespace }, 'listing pods and jobs failed');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    await this.pods?.stop();
    await this.jobs?.stop();
  }
}
