import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { Log, type V1Job, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { POD_RUNNER_COMMAND as SDK_POD_RUNNER_COMMAND } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { otelEnvOf } from '../../child-env.js';
import { splitHostPort, type WorkerOptions } from '../../options.js';
import {
  type AdoptedAttempt,
  type Attempt,
  AttemptAlreadyStarted,
  type AttemptEnvironment,
  type AttemptExit,
  type AttemptSink,
  attemptKey,
  type Executor,
  type ExecutorContext,
  type PreparedRun,
  type StopRequest,
} from '../executor.js';
import { isReadyMessage, type ParentMessage, startMessageOf } from '../messages.js';
import { listOwnJobs, NamespaceRecord } from './adoption.js';
import type { JobBounds } from './bounds.js';
import { type Cluster, connectCluster, describeKubeError, statusOf } from './cluster.js';
import {
  attemptLabels,
  buildJobManifest,
  buildRelaySecret,
  FLOW_CONTAINER,
  hasTtl,
  type KubeObject,
  LABEL_ATTEMPT,
  LABEL_POOL,
  LABEL_RUN_ID,
  LABEL_WORKER,
  labelValue,
  namespaceOf,
  type RunResources,
  relaySecretName,
  workerTemplate,
} from './manifest.js';
import { jobActive, jobFailure, readPod } from './pod-status.js';
import { PodWatch } from './pod-watch.js';
import { type BundleFile, relayKey, relayToken } from './relay-protocol.js';
import { RelayLink, RelayServer } from './relay-server.js';
import { relayIdentity, relayPin } from './relay-tls.js';

/** The pod's command: the pod runner that ships with @outpost/worker (the image must have it on PATH). */
export const POD_RUNNER_COMMAND: string[] = [...SDK_POD_RUNNER_COMMAND];

/**
 * Runs each attempt as a Kubernetes Job (one per attempt, named for it, never retried by Kubernetes)
 * whose pod runs `outpost-pod-runner`. The pod talks to this worker only: over the relay it gets the
 * verified bundle and carries the runtime protocol; its output is read back through `pods/log`.
 * Pods and Jobs are watched by label; a pod that cannot pull its image or be scheduled within its
 * bound, is OOM-killed, evicted or outlives its deadline ends the attempt with that reason.
 */
export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes';
  readonly canAdopt = true;
  private readonly options: WorkerOptions;
  private readonly logger: Logger;
  private readonly cluster: Cluster;
  private readonly relay: RelayServer;
  private readonly key: Buffer;
  /** The pin of the relay's TLS key, which each attempt's Secret hands its pod. */
  private readonly pin: string;
  private readonly live = new Map<string, KubeAttempt>();
  private readonly watches = new Map<string, PodWatch>();
  private relayAddress: Promise<string> | null = null;

  private readonly pool: ExecutorContext['pool'];
  /** The pool template last warned about, so an ignored template is logged once, not at every run. */
  private ignoredPoolTemplate: string | null = null;
  /** The flows' OpenTelemetry variables: settings for the pod spec, shared collector credentials for the relay. */
  private readonly otel: ReturnType<typeof otelEnvOf>;
  private readonly namespaces: NamespaceRecord;

  constructor(context: ExecutorContext) {
    this.options = context.options;
    this.pool = context.pool;
    this.otel = otelEnvOf(context.baseEnv);
    this.logger = context.logger.child({ executor: 'kubernetes' });
    this.cluster = connectCluster(context.options);
    this.key = relayKey(context.options.apiKey);
    this.pin = relayPin(this.key, context.options.name);
    const listen = splitHostPort(context.options.relayListen);
    const name = context.options.name;
    this.relay = new RelayServer(
      this.key,
      () => relayIdentity(this.key, name),
      { host: listen.host, port: listen.port ?? 7420 },
      this.logger,
    );
    this.namespaces = new NamespaceRecord(join(context.options.spoolDir, 'kubernetes-namespaces'), this.logger);
  }

  /** The selector of everything this worker starts: its pool and its name. */
  private get selector(): string {
    return `${LABEL_POOL}=${labelValue(this.options.pool)},${LABEL_WORKER}=${labelValue(this.options.name)}`;
  }

  private address(): Promise<string> {
    this.relayAddress ??= this.relay.start().then(({ host, port }) => {
      const configured = this.options.relayAddress;
      if (!configured) return `${host}:${port}`;
      return splitHostPort(configured).port === null ? `${configured}:${port}` : configured;
    });
    return this.relayAddress;
  }

  private watch(namespace: string): PodWatch {
    let watch = this.watches.get(namespace);
    if (!watch) {
      watch = new PodWatch(this.cluster, namespace, this.selector, this.logger, {
        pod: (pod) => this.attemptOf(pod)?.observePod(pod),
        podGone: (pod) => this.attemptOf(pod)?.podGone(pod),
        job: (job) => this.attemptOf(job)?.observeJob(job),
        jobGone: (job) => this.attemptOf(job)?.jobGone(),
      });
      this.watches.set(namespace, watch);
      watch.start();
    }
    return watch;
  }

  private attemptOf(object: V1Pod | V1Job): KubeAttempt | undefined {
    const labels = object.metadata?.labels ?? {};
    const runId = labels[LABEL_RUN_ID];
    const attempt = Number(labels[LABEL_ATTEMPT]);
    return runId ? this.live.get(attemptKey({ runId, attempt })) : undefined;
  }

  open(): void {
    void this.address().catch((error: unknown) => this.logger.error({ err: error }, 'the relay for pods could not start'));
    void this.noticePoolTemplate();
  }

  /**
   * Warns, once per template, when the API's pool carries a base job template other than this
   * worker's: it is ignored. The pod template is the customer's to set on the worker
   * (`--base-job-template`); a template from the control plane could ask for the node.
   */
  private async noticePoolTemplate(): Promise<void> {
    try {
      const fromPool = (await this.pool?.())?.baseJobTemplate;
      if (!fromPool || typeof fromPool !== 'object') return;
      const own = workerTemplate(this.options.baseJobTemplate);
      const seen = JSON.stringify(fromPool);
      if (seen === this.ignoredPoolTemplate || isDeepStrictEqual(fromPool, own)) return;
      this.ignoredPoolTemplate = seen;
      this.logger.warn(
        { pool: this.options.pool },
        `the work pool's base job template from the API is ignored: this worker builds Jobs from ${this.options.baseJobTemplate ? 'its --base-job-template' : 'the default template (set --base-job-template to change it)'}`,
      );
    } catch (error) {
      this.logger.debug({ err: error }, 'could not compare the work pool base job template');
    }
  }

  async close(): Promise<void> {
    // Running attempts keep their Jobs (a restarted worker adopts them); only this process's connections end.
    for (const watch of this.watches.values()) await watch.stop();
    this.watches.clear();
    await this.relay.close();
    this.relayAddress = null;
  }

  async start(run: PreparedRun, sink: AttemptSink, stopped: AbortSignal): Promise<Attempt> {
    const key = attemptKey(run);
    if (this.live.has(key)) throw new AttemptAlreadyStarted(run.runId, run.attempt);
    const log = this.logger.child({ runId: run.runId, attempt: run.attempt });
    const claimed = run.claimed as typeof run.claimed & { resources?: RunResources | null };
    const relayAddress = await this.address();
    void this.noticePoolTemplate();
    // Throws JobManifestError (the run fails, nothing is created) for job variables outside the worker's bounds.
    const manifest = buildJobManifest({
      runId: run.runId,
      attempt: run.attempt,
      pool: this.options.pool,
      worker: this.options.name,
      namespace: this.cluster.namespace,
      // The worker's --base-job-template, else the default: never the pool's from the API.
      template: workerTemplate(this.options.baseJobTemplate),
      jobVariables: run.claimed.deployment.jobVariables,
      bounds: jobBoundsOf(this.options),
      ownServiceAccount: this.cluster.serviceAccount ?? null,
      resources: claimed.resources ?? null,
      command: POD_RUNNER_COMMAND,
      relayAddress,
      relaySecret: relaySecretName(run.runId, run.attempt),
      otelEnv: this.otel.settings,
    });
    const metadata = manifest.metadata as { name: string; namespace: string };
    const entry = relative(run.bundle.dir, run.bundle.entry);
    const link = new RelayLink(
      run.runId,
      run.attempt,
      (m) => {
        sink.message(m);
        // The runner is ready: hand it the run, unless the worker decided to stop it meanwhile.
        if (isReadyMessage(m) && !stopped.aborted) {
          link.send({ t: 'taskAck', settled: 0 });
          link.send(startMessageOf(run.claimed, entry));
        }
      },
      { entry, env: relayEnv(run.runEnv, this.otel.credentials, manifest), files: async () => bundleFiles(run.bundle.dir) },
      log,
    );
    const attempt = new KubeAttempt({
      runId: run.runId,
      attempt: run.attempt,
      jobName: metadata.name,
      namespace: metadata.namespace,
      image: imageOf(manifest),
      deleteWhenDone: !hasTtl(manifest),
      relaySecret: relaySecretName(run.runId, run.attempt),
      cluster: this.cluster,
      options: this.options,
      link,
      sink,
      log,
      followSince: null,
      released: () => {
        this.live.delete(key);
        this.relay.unregister(link);
      },
    });
    this.live.set(key, attempt);
    this.relay.register(link);
    this.namespaces.add(metadata.namespace);
    const secret = buildRelaySecret({
      runId: run.runId,
      attempt: run.attempt,
      pool: this.options.pool,
      worker: this.options.name,
      namespace: metadata.namespace,
      token: relayToken(this.key, run.runId, run.attempt),
      pin: this.pin,
    });
    const secretName = relaySecretName(run.runId, run.attempt);
    let jobUid: string | undefined;
    try {
      // The pod's token is in its own Secret, created before the Job so the pod never starts without it.
      await createRelaySecret(this.cluster, metadata.namespace, secret);
      try {
        const created = await this.cluster.batch.createNamespacedJob({ namespace: metadata.namespace, body: manifest as V1Job });
        jobUid = created.metadata?.uid;
        log.info({ job: metadata.name, namespace: metadata.namespace }, 'job created');
      } catch (error) {
        // The Job of this attempt exists already (a create retried after a timeout): it is this attempt's, never a second one.
        if (statusOf(error) !== 409) {
          await deleteRelaySecret(this.cluster, metadata.namespace, secretName, log);
          throw new Error(`could not create Job ${metadata.name}: ${describeKubeError(error)}`);
        }
        log.info({ job: metadata.name }, 'job exists already; attaching to it');
      }
    } catch (error) {
      this.live.delete(key);
      this.relay.unregister(link);
      throw error;
    }
    await ownRelaySecret(this.cluster, metadata.namespace, secretName, metadata.name, jobUid, log);
    void this.watch(metadata.namespace).resync();
    return attempt;
  }

  /**
   * Where an earlier process of this worker may have left Jobs: its namespace, its base job
   * template's (`namespaceOf` of no job variables), and every namespace it recorded creating a Job
   * in (one a deployment's job variables named, within `--allow-namespace`).
   */
  private async adoptionNamespaces(): Promise<string[]> {
    const template = workerTemplate(this.options.baseJobTemplate);
    const fromTemplate = namespaceOf({ namespace: this.cluster.namespace, template, jobVariables: {} });
    return [...new Set([this.cluster.namespace, fromTemplate, ...this.namespaces.read()])];
  }

  async adopt(sinkFor: (run: { runId: string; attempt: number }) => AttemptSink): Promise<AdoptedAttempt[]> {
    // Throws when a namespace cannot be listed within the bound: "none" would let their runs start twice.
    const jobs = await listOwnJobs(this.cluster, await this.adoptionNamespaces(), this.selector, this.logger);
    const adopted: AdoptedAttempt[] = [];
    const watched = new Set<string>();
    const since = new Date();
    for (const job of jobs) {
      const namespace = job.metadata?.namespace ?? this.cluster.namespace;
      const labels = job.metadata?.labels ?? {};
      const runId = labels[LABEL_RUN_ID];
      const number = Number(labels[LABEL_ATTEMPT]);
      if (!runId || !Number.isInteger(number) || !jobActive(job) || job.metadata?.deletionTimestamp) continue;
      const key = attemptKey({ runId, attempt: number });
      if (this.live.has(key)) continue;
      const sink = sinkFor({ runId, attempt: number });
      const log = this.logger.child({ runId, attempt: number });
      // An adopted pod has its bundle; it only needs the relay back.
      const link = new RelayLink(runId, number, (m) => sink.message(m), null, log);
      const attempt = new KubeAttempt({
        runId,
        attempt: number,
        jobName: job.metadata?.name ?? '',
        namespace,
        image: imageOf(job as KubeObject),
        deleteWhenDone: typeof job.spec?.ttlSecondsAfterFinished !== 'number',
        relaySecret: relaySecretName(runId, number),
        cluster: this.cluster,
        options: this.options,
        link,
        sink,
        log,
        followSince: since,
        released: () => {
          this.live.delete(key);
          this.relay.unregister(link);
        },
      });
      this.live.set(key, attempt);
      this.relay.register(link);
      adopted.push({ runId, attempt: number, handle: attempt });
      watched.add(namespace);
      log.info({ job: job.metadata?.name, namespace }, 'adopted a running Job');
    }
    if (adopted.length > 0) {
      await this.address();
      for (const namespace of watched) void this.watch(namespace).resync();
    }
    return adopted;
  }
}

/**
 * The run's variables as its pod's flow gets them. The GPU ids the claim assigned count devices in
 * the pool's ledger, not on the node: the pod gets an `nvidia.com/gpu` limit of their number, and
 * the device plugin exposes exactly those devices to the container, numbered from 0. A
 * `CUDA_VISIBLE_DEVICES` of the ledger's ids (`2,3`) would hide them, so the pod gets none;
 * `OUTPOST_ASSIGNED_GPUS` still names the assignment. A run that asked for no GPU keeps its empty
 * value: an image that exposes every device of the node (NVIDIA_VISIBLE_DEVICES=all) shows it none.
 */
export function podRunEnv(env: Record<string, string>): Record<string, string> {
  const { CUDA_VISIBLE_DEVICES: devices, ...rest } = env;
  return devices === '' ? env : rest;
}

/**
 * What the relay hands the pod's flow: the collector credentials the worker shares, unless the pod's
 * own env sets them (a template may take them from a Secret of its own), then the run's variables.
 * Never in the pod spec, where whoever may read the Job would see them.
 */
export function relayEnv(
  runEnv: Record<string, string>,
  credentials: Record<string, string>,
  manifest: KubeObject,
): Record<string, string> {
  const spec = manifest.spec as { template?: { spec?: { containers?: { env?: { name?: string }[] }[] } } } | undefined;
  const own = new Set((spec?.template?.spec?.containers?.[0]?.env ?? []).map((e) => e.name));
  const shared = Object.fromEntries(Object.entries(credentials).filter(([name]) => !own.has(name)));
  return { ...shared, ...podRunEnv(runEnv) };
}

/** Creates an attempt's relay Secret; one that exists already (a create retried after a timeout) is this attempt's. */
async function createRelaySecret(cluster: Cluster, namespace: string, secret: KubeObject): Promise<void> {
  try {
    await cluster.core.createNamespacedSecret({ namespace, body: secret as V1Secret });
  } catch (error) {
    if (statusOf(error) !== 409) {
      const name = (secret.metadata as { name: string }).name;
      throw new Error(`could not create the relay Secret ${name}: ${describeKubeError(error)}`);
    }
  }
}

/**
 * Makes the attempt's Job the owner of its relay Secret, so the garbage collector deletes the
 * Secret with the Job even when no worker is left to. Only `patch`, never `get`, on Secrets: the
 * Job's uid comes from its create (or, for a Job that existed already, from a list of Jobs).
 */
async function ownRelaySecret(
  cluster: Cluster,
  namespace: string,
  name: string,
  job: string,
  uid: string | undefined,
  log: Logger,
): Promise<void> {
  try {
    const owner =
      uid ??
      (await cluster.batch.listNamespacedJob({ namespace, fieldSelector: `metadata.name=${job}` })).items[0]?.metadata?.uid;
    if (!owner) return;
    await cluster.core.patchNamespacedSecret({
      name,
      namespace,
      body: [
        { op: 'add', path: '/metadata/ownerReferences', value: [{ apiVersion: 'batch/v1', kind: 'Job', name: job, uid: owner }] },
      ],
    });
  } catch (error) {
    // The attempt deletes the Secret when it ends; the owner only covers a worker that never comes back.
    log.warn({ err: error, secret: name }, `could not make the Job own its relay Secret: ${describeKubeError(error)}`);
  }
}

/** Deletes an attempt's relay Secret (gone already is fine). */
async function deleteRelaySecret(cluster: Cluster, namespace: string, name: string, log: Logger): Promise<void> {
  try {
    await cluster.core.deleteNamespacedSecret({ name, namespace });
  } catch (error) {
    if (statusOf(error) !== 404)
      log.warn({ err: error, secret: name }, `could not delete the relay Secret: ${describeKubeError(error)}`);
  }
}

function imageOf(manifest: KubeObject): string | null {
  const spec = manifest.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  return spec?.template?.spec?.containers?.[0]?.image ?? null;
}

/** The bundle directory's files, for a pod that has none yet. Symbolic links are followed only inside the bundle. */
function bundleFiles(root: string): BundleFile[] {
  const files: BundleFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile())
        files.push({ path: relative(root, path), mode: stat.mode & 0o777, data: readFileSync(path).toString('base64') });
    }
  };
  walk(root);
  return files;
}

interface AttemptSettings {
  runId: string;
  attempt: number;
  jobName: string;
  namespace: string;
  image: string | null;
  deleteWhenDone: boolean;
  /** The attempt's relay Secret, deleted when the attempt ends: its token is of no use after that. */
  relaySecret: string;
  cluster: Cluster;
  options: WorkerOptions;
  link: RelayLink;
  sink: AttemptSink;
  log: Logger;
  /** For an adopted attempt: output from this time on (earlier output was the previous worker's). */
  followSince: Date | null;
  released: () => void;
}

/** How long the environment report waits for a started pod to dial the relay and name its Node version. */
const RELAY_HELLO_WAIT_MS = 30_000;

/** How long after a deletion the pod may take to go before the attempt is taken as ended regardless. */
const DELETION_WAIT_MS = 60_000;

/** One attempt's Job and pod, as the watch reports them. */
class KubeAttempt implements Attempt {
  readonly runId: string;
  readonly attempt: number;
  readonly exited: Promise<AttemptExit>;
  private resolveExit!: (exit: AttemptExit) => void;
  private exit: AttemptExit | null = null;
  private podName: string | null = null;
  private imageDigest: string | null = null;
  private followed = false;
  private logAbort: AbortController | null = null;
  private logEnded: Promise<void> = Promise.resolve();
  private lastLogStamp = '';
  /** Lines taken with `lastLogStamp`; a stream followed again skips as many at that stamp. */
  private atLastStamp = 0;
  private replaying = false;
  private replaySkip = 0;
  private problem: { kind: 'image-pull' | 'unschedulable'; since: number; timer: NodeJS.Timeout } | null = null;
  private deleting: Promise<void> | null = null;
  private jobFailed: string | null = null;
  private readonly environmentKnown: Promise<void>;
  private resolveEnvironment!: () => void;

  constructor(private readonly s: AttemptSettings) {
    this.runId = s.runId;
    this.attempt = s.attempt;
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    this.environmentKnown = new Promise((resolve) => (this.resolveEnvironment = resolve));
  }

  get hasExited(): boolean {
    return this.exit !== null;
  }

  send(message: ParentMessage): boolean {
    if (this.exit) return false;
    return this.s.link.send(message);
  }

  private end(exit: AttemptExit): void {
    if (this.exit) return;
    this.exit = exit;
    if (this.problem) clearTimeout(this.problem.timer);
    this.problem = null;
    this.resolveEnvironment();
    this.s.log.info({ exit }, 'pod ended');
    this.resolveExit(exit);
  }

  observePod(pod: V1Pod): void {
    if (this.exit) return;
    if (pod.metadata?.deletionTimestamp && !pod.status?.containerStatuses?.some((c) => c.state?.terminated)) {
      // Being deleted: the watch reports it gone, or its final status, soon.
    }
    this.podName = pod.metadata?.name ?? this.podName;
    const status = pod.status?.containerStatuses?.[0];
    if (status?.imageID) {
      this.imageDigest = /sha256:[0-9a-f]{64}/.exec(status.imageID)?.[0] ?? this.imageDigest;
      this.resolveEnvironment();
    }
    const reading = readPod(pod, FLOW_CONTAINER);
    if (reading.kind === 'running' || reading.kind === 'ended') this.follow();
    if (reading.kind === 'image-pull' || reading.kind === 'unschedulable') {
      this.problemSeen(
        reading.kind,
        reading.kind === 'image-pull' ? `${reading.reason}: ${reading.message}` : `Unschedulable: ${reading.message}`,
      );
    } else if (this.problem) {
      clearTimeout(this.problem.timer);
      this.problem = null;
    }
    if (reading.kind === 'ended') {
      const exit = this.jobFailed && !reading.exit.reason ? { ...reading.exit, reason: this.jobFailed } : reading.exit;
      this.end(exit);
    }
  }

  /** A pod that cannot pull its image or be placed gets its bound, then the attempt ends with why. */
  private problemSeen(kind: 'image-pull' | 'unschedulable', reason: string): void {
    if (this.problem?.kind === kind) return;
    if (this.problem) clearTimeout(this.problem.timer);
    const bound = kind === 'image-pull' ? this.s.options.imagePullTimeoutMs : this.s.options.unschedulableTimeoutMs;
    this.s.log.warn({ reason, boundMs: bound }, 'pod cannot start yet');
    const timer = setTimeout(() => {
      if (this.exit) return;
      this.s.sink.note('error', `the pod did not start within ${Math.round(bound / 1000)} s: ${reason}`);
      void this.deleteJob(0);
      this.end({ code: null, signal: null, reason: reason.slice(0, 500) });
    }, bound);
    this.problem = { kind, since: Date.now(), timer };
  }

  podGone(pod: V1Pod): void {
    if (this.exit) return;
    const reading = readPod(pod, FLOW_CONTAINER);
    if (reading.kind === 'ended') this.end(reading.exit);
    else
      this.end({
        code: null,
        signal: 'SIGKILL',
        reason: this.jobFailed ?? (this.deleting ? 'pod deleted' : 'pod deleted by someone else'),
      });
  }

  observeJob(job: V1Job): void {
    const failure = jobFailure(job);
    if (failure) this.jobFailed = failure.startsWith('BackoffLimitExceeded') ? this.jobFailed : failure;
    // A Job that failed before any pod ran (its deadline passed while unschedulable) has nothing more to report.
    if (failure && !this.podName && !this.exit) this.end({ code: null, signal: null, reason: failure });
  }

  jobGone(): void {
    if (!this.exit && !this.podName) this.end({ code: null, signal: 'SIGKILL', reason: 'job deleted' });
  }

  /** Follows the flow container's output into the sink, from where the last stream left off. */
  private follow(): void {
    if (this.followed || !this.podName) return;
    this.followed = true;
    const podName = this.podName;
    let resolveEnded!: () => void;
    this.logEnded = new Promise((resolve) => (resolveEnded = resolve));
    const stream = new PassThrough();
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.logLine(line);
    });
    stream.on('end', () => {
      if (partial) this.logLine(partial);
      partial = '';
      resolveEnded();
      // A stream that ended while the pod still runs (an API server restart) is followed again.
      if (!this.exit) {
        this.followed = false;
        setTimeout(() => this.follow(), 500);
      }
    });
    const since = this.lastLogStamp ? this.lastLogStamp : this.s.followSince?.toISOString();
    this.replaying = this.lastLogStamp !== '';
    this.replaySkip = this.atLastStamp;
    new Log(this.s.cluster.config)
      .log(this.s.namespace, podName, FLOW_CONTAINER, stream, {
        follow: true,
        timestamps: true,
        ...(since ? { sinceTime: since.replace(/\.\d+Z$/, 'Z') } : {}),
      })
      .then(
        (abort) => {
          this.logAbort = abort;
        },
        (error: unknown) => {
          resolveEnded();
          this.s.log.debug({ err: error }, 'could not follow the pod log yet');
          if (!this.exit || statusOf(error) === 400) {
            this.followed = false;
            if (!this.exit) setTimeout(() => this.follow(), 1_000);
          }
        },
      );
  }

  /**
   * One `<RFC3339 timestamp> <text>` line of `pods/log`. A stream followed again after a break starts
   * at the last second seen (`sinceTime` has whole seconds): its lines before the last timestamp, and
   * as many at it as were already taken, are re-reads. Within one stream nothing is dropped.
   */
  private logLine(raw: string): void {
    const space = raw.indexOf(' ');
    const stamp = space > 0 ? raw.slice(0, space) : '';
    if (!/^\d{4}-\d\d-\d\dT/.test(stamp)) {
      this.s.sink.line('stdout', raw);
      return;
    }
    if (this.replaying) {
      if (stamp < this.lastLogStamp) return;
      if (stamp === this.lastLogStamp && this.replaySkip > 0) {
        this.replaySkip--;
        return;
      }
      this.replaying = false;
    }
    if (stamp === this.lastLogStamp) this.atLastStamp++;
    else {
      this.lastLogStamp = stamp;
      this.atLastStamp = 1;
    }
    this.s.sink.line('stdout', raw.slice(space + 1));
  }

  /** Deletes the Job and its pod, the pod with `graceSeconds` to stop. */
  private deleteJob(graceSeconds: number): Promise<void> {
    const { batch, core } = this.s.cluster;
    const run = async () => {
      try {
        await batch.deleteNamespacedJob({
          name: this.s.jobName,
          namespace: this.s.namespace,
          propagationPolicy: 'Background',
          gracePeriodSeconds: graceSeconds,
        });
      } catch (error) {
        if (statusOf(error) !== 404) this.s.log.error({ err: error }, `could not delete the Job: ${describeKubeError(error)}`);
      }
      // The pod goes at once with the grace asked for, not whenever the garbage collector gets to it.
      try {
        await core.deleteCollectionNamespacedPod({
          namespace: this.s.namespace,
          labelSelector: `${LABEL_RUN_ID}=${this.runId},${LABEL_ATTEMPT}=${this.attempt}`,
          gracePeriodSeconds: graceSeconds,
        });
      } catch (error) {
        if (statusOf(error) !== 404) this.s.log.error({ err: error }, `could not delete the pod: ${describeKubeError(error)}`);
      }
    };
    const previous = this.deleting;
    // A stronger (shorter-grace) request is sent even while a weaker one is on its way.
    this.deleting = (previous ?? Promise.resolve()).then(run);
    return this.deleting;
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (this.exit) return true;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    return result;
  }

  private async terminate(graceMs: number): Promise<void> {
    await this.deleteJob(Math.ceil(graceMs / 1000));
    if (!(await this.waitExit(graceMs + DELETION_WAIT_MS))) {
      this.s.log.warn('the pod did not report its end after deletion; taking it as killed');
      this.end({ code: null, signal: 'SIGKILL', reason: 'pod deleted' });
    }
  }

  async stop(request: StopRequest): Promise<void> {
    if (this.exit) return;
    const { cancelGraceMs, cancelNoticeMs } = this.s.options;
    switch (request.mode) {
      case 'kill':
        return this.terminate(0);
      case 'terminate':
        return this.terminate(cancelGraceMs);
      case 'cancel':
        // A cancelled run leaves no Job behind, whether its flow stopped at the notice or had to be terminated.
        if (this.s.link.send({ t: 'cancel', reason: request.reason }) && (await this.waitExit(cancelNoticeMs))) {
          return this.deleteJob(Math.ceil(cancelGraceMs / 1000));
        }
        return this.terminate(cancelGraceMs);
      case 'await-exit':
        if (await this.waitExit(cancelNoticeMs)) return;
        return this.terminate(cancelGraceMs);
    }
  }

  async cleanUp(): Promise<void> {
    try {
      // The log stream ends with the container; give it a moment, then stop reading.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.logEnded, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)))]);
      clearTimeout(timer);
      this.logAbort?.abort();
      this.followed = true;
      if (this.s.deleteWhenDone && !this.deleting) {
        await this.s.cluster.batch
          .deleteNamespacedJob({ name: this.s.jobName, namespace: this.s.namespace, propagationPolicy: 'Background' })
          .catch((error: unknown) => {
            if (statusOf(error) !== 404)
              this.s.log.warn({ err: error }, `could not delete the finished Job: ${describeKubeError(error)}`);
          });
      }
      await this.deleting;
      await deleteRelaySecret(this.s.cluster, this.s.namespace, this.s.relaySecret, this.s.log);
    } finally {
      this.s.released();
    }
  }

  async environment(): Promise<AttemptEnvironment> {
    await this.environmentKnown;
    // The pod names its Node version when it dials the relay, just after its container started.
    await Promise.race([this.s.link.connected(RELAY_HELLO_WAIT_MS), this.exited]);
    return {
      executor: 'kubernetes',
      nodeVersion: this.s.link.nodeVersion,
      image: this.s.image,
      imageDigest: this.imageDigest,
    };
  }
}

/** What the worker's `--allow-*` flags let a deployment's job variables add to its Jobs. */
export function jobBoundsOf(options: WorkerOptions): JobBounds {
  return {
    images: options.allowImages,
    serviceAccounts: options.allowServiceAccounts,
    secrets: options.allowSecrets,
    namespaces: options.allowNamespaces,
    tolerations: options.allowTolerations,
    podLabels: options.allowPodLabels,
    podAnnotations: options.allowPodAnnotations,
  };
}

/** A Kubernetes executor for the worker's options. */
export function createKubernetesExecutor(context: ExecutorContext): Executor {
  return new KubernetesExecutor(context);
}

export { attemptLabels };
