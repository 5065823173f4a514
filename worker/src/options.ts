import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_BATCH_LINES, MAX_CLAIM_PREFETCH_MS, MAX_CLAIM_WAIT_MS, type WorkerResources } from '@outpost/sdk/contracts';
import { DeploymentSignatureError, parseTrustKey, type TrustKey } from '@outpost/sdk/signing';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { podTemplateProblems } from './executors/kubernetes/pod-policy.js';

/** Durations are written `500ms`, `10s`, `2m` or a bare number of seconds (`0.5`). */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;

function duration(name: string) {
  return z.string().transform((raw, ctx) => {
    const match = DURATION.exec(raw.trim());
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `${name}: use e.g. 500ms, 10s, 2m or a number of seconds` });
      return z.NEVER;
    }
    const value = Number(match[1]);
    const unit = match[2] ?? 's';
    return Math.round(unit === 'ms' ? value : unit === 'm' ? value * 60_000 : value * 1000);
  });
}

const SecretSource = z.enum(['env', 'dir', 'command']);

const Label = z.string().regex(/^[^=\s]{1,100}=[^\s]{0,200}$/, 'labels are key=value');
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;
const HOST_OPTIONAL_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/;
const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
/** Kubernetes names: a namespace (DNS label), a Secret or ServiceAccount (DNS subdomain), a label key. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const KEY_OR_PREFIX =
  /^(([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)|([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

const RawOptions = z.strictObject({
  /** OUTPOST_API_URL: base URL of the control plane the worker polls over outbound HTTP(S). */
  apiUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** OUTPOST_API_KEY: a key with role `worker` (or admin/owner); never passed to flow processes. */
  apiKey: z.string().min(8, 'is required'),
  /** --pool / OUTPOST_WORKER_POOL: the work pool to claim runs from. */
  pool: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a pool name (letters, digits, ".", "_", "-")'),
  /** --name / OUTPOST_WORKER_NAME: shown in the dashboard; hostname-pid by default. */
  name: z.string().min(1).max(200),
  /** --limit / OUTPOST_WORKER_LIMIT: how many runs this worker executes at once. */
  limit: z.coerce.number().int().min(1).max(1000),
  /** --label k=v (repeatable): routing labels a deployment can require, e.g. gpu=true. */
  labels: z.array(Label).max(50),
  /** --queue (repeatable): claim only from these queues of the pool; all queues when none. */
  queues: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/)).max(100),
  /** OUTPOST_WORKER_CACHE_DIR: where pulled bundles are cached, by digest. */
  cacheDir: z.string().min(1),
  /** OUTPOST_WORKER_SPOOL_DIR: log lines wait here while the API is unreachable. */
  spoolDir: z.string().min(1),
  /** --heartbeat-interval / OUTPOST_WORKER_HEARTBEAT_INTERVAL: one lease renewal for all held runs. */
  heartbeatIntervalMs: duration('heartbeat interval').pipe(z.number().min(100).max(300_000)),
  /** --poll-wait / OUTPOST_WORKER_POLL_WAIT: how long a claim long-polls when nothing is due. */
  pollWaitMs: duration('poll wait').pipe(z.number().min(0).max(MAX_CLAIM_WAIT_MS)),
  /**
   * --prefetch / OUTPOST_WORKER_PREFETCH: also claim runs due this soon, prepare them (source, secrets)
   * and start each at its due time; only runs no concurrency limit counts (docs/scaling.md, "Start latency").
   */
  prefetchMs: duration('prefetch').pipe(z.number().min(0).max(MAX_CLAIM_PREFETCH_MS)),
  /** --drain-grace / OUTPOST_WORKER_DRAIN_GRACE: on SIGTERM, how long running flows may finish. */
  drainGraceMs: duration('drain grace').pipe(z.number().min(0).max(86_400_000)),
  /** --cancel-grace / OUTPOST_WORKER_CANCEL_GRACE: between SIGTERM and SIGKILL of a run's process group. */
  cancelGraceMs: duration('cancel grace').pipe(z.number().min(0).max(3_600_000)),
  /** OUTPOST_WORKER_CANCEL_NOTICE: between the cooperative cancel message and SIGTERM. */
  cancelNoticeMs: duration('cancel notice').pipe(z.number().min(0).max(600_000)),
  /** OUTPOST_WORKER_LOG_BATCH_SIZE: lines per log request at most (the API takes up to MAX_BATCH_LINES). */
  logBatchSize: z.coerce.number().int().min(1).max(MAX_BATCH_LINES),
  /** OUTPOST_WORKER_LOG_BATCH_INTERVAL: how long a line may wait for its batch to fill. */
  logBatchMs: duration('log batch interval').pipe(z.number().min(0).max(60_000)),
  /** --pass-env NAME (repeatable) / OUTPOST_WORKER_PASS_ENV (comma-separated): extra worker variables flows see. */
  passEnv: z.array(EnvName.refine((n) => !n.startsWith('OUTPOST_'), 'OUTPOST_ variables are never passed to flows')),
  /** OUTPOST_LOG_LEVEL: the worker's own log level. */
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  /** --log-format / OUTPOST_LOG_FORMAT: readable lines, pino JSON, or `auto` (readable on a terminal, JSON otherwise). */
  logFormat: z.enum(['auto', 'pretty', 'json']),
  /** --secrets-dir / OUTPOST_WORKER_SECRETS_DIR: one file per secret, named for it (Kubernetes-mounted secrets). */
  secretsDir: z.string().min(1).nullable(),
  /** --secrets-command / OUTPOST_WORKER_SECRETS_COMMAND: run without a shell, `{name}` replaced by the secret's name. */
  secretsCommand: z.array(z.string()).min(1, 'needs a program').nullable(),
  /** --secrets-order / OUTPOST_WORKER_SECRETS_ORDER: where secrets are looked up, first hit wins. */
  secretsOrder: z.array(SecretSource).min(1).max(3),
  /** OUTPOST_WORKER_SECRETS_TIMEOUT: how long the secrets command may take for one secret. */
  secretsTimeoutMs: duration('secrets timeout').pipe(z.number().min(100).max(300_000)),
  /** --result-storage / OUTPOST_WORKER_RESULT_STORAGE: where flows keep their results, inside your network. */
  resultStorage: z.string().regex(/^(file:\/\/\/|s3:\/\/)[^\s]+$/, 'use file:///abs/dir or s3://bucket/prefix?endpoint=…'),
  /** --prestart / OUTPOST_WORKER_PRESTART: flow processes kept started and waiting, to cut start latency. */
  prestart: z.coerce.number().int().min(0).max(32),
  /**
   * --warm / OUTPOST_WORKER_WARM: flow processes kept with a deployment's bundle already imported,
   * one per deployment version that ran last (docs/scaling.md, "Start latency"). 0 turns warm starts off.
   */
  warm: z.coerce.number().int().min(0).max(32),
  /**
   * --allow-source (repeatable) / OUTPOST_WORKER_ALLOW_SOURCES (comma-separated): source prefixes this
   * worker runs code from, e.g. `oci://registry.internal:5000/acme/`; any source when none is given.
   */
  allowSources: z.array(
    z
      .string()
      .regex(
        /^(oci|oci-layout|dir|git\+https|git\+ssh|git\+file):\/\/\S+$/,
        'a source prefix such as oci://registry.internal/acme/',
      ),
  ),
  /**
   * --health-port / OUTPOST_WORKER_HEALTH_PORT: serve `/healthz` and `/metrics` on this port (0: any
   * free port, logged); none when not set.
   */
  healthPort: z.coerce
    .number('a port number')
    .int('a port number')
    .min(0, 'a port number')
    .max(65_535, 'a port number')
    .nullable(),
  /** --health-host / OUTPOST_WORKER_HEALTH_HOST: the address the health port listens on. */
  healthHost: z.string().min(1),
  /** --sensors / OUTPOST_WORKER_SENSORS: sensor ticks of the pool evaluated at once (0: this worker evaluates none). */
  sensors: z.coerce.number().int().min(0).max(16),
  /**
   * --triggers / OUTPOST_WORKER_TRIGGERS: polls of deferred jobs (and their cancellations) run at
   * once (0: this worker polls none). They share OUTPOST_WORKER_SENSOR_POLL's claim interval.
   */
  triggers: z.coerce.number().int().min(0).max(32),
  /**
   * --gpus / OUTPOST_WORKER_GPUS: the GPU device ids this worker offers (`0,1,2,3`); when not set,
   * detected with `nvidia-smi` if it is on PATH, else none.
   */
  gpus: z
    .array(z.string().regex(/^[A-Za-z0-9:._-]{1,64}$/, 'device ids separated by commas, e.g. 0,1,2,3'))
    .max(64)
    .nullable(),
  /** --gpu-memory-gb / OUTPOST_WORKER_GPU_MEMORY_GB: memory of each declared GPU. */
  gpuMemoryGb: z.coerce.number('a number of GB').min(0).max(10_000).nullable(),
  /** --gpu-model / OUTPOST_WORKER_GPU_MODEL: model of the declared GPUs, e.g. A100. */
  gpuModel: z.string().min(1).max(200).nullable(),
  /** --memory-gb / OUTPOST_WORKER_MEMORY_GB: host memory runs may ask for; the machine's total by default. */
  memoryGb: z.coerce.number('a number of GB').min(0).max(100_000).nullable(),
  /** --cpus / OUTPOST_WORKER_CPUS: CPU slots runs may ask for; os.availableParallelism() by default. */
  cpus: z.coerce.number('a number').min(0).max(10_000).nullable(),
  /** OUTPOST_WORKER_SENSOR_POLL: how often the worker asks for due sensor ticks while it has a free sensor slot. */
  sensorPollMs: duration('sensor poll').pipe(z.number().min(100).max(600_000)),
  /** --type / OUTPOST_WORKER_TYPE: where runs execute — a process group on this machine, or a Kubernetes Job per attempt. */
  type: z.enum(['process', 'kubernetes'], 'process or kubernetes'),
  /** --namespace / OUTPOST_WORKER_NAMESPACE (kubernetes): where Jobs go unless a deployment names one; the kubeconfig's by default. */
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a Kubernetes namespace name')
    .nullable(),
  /** --kubeconfig / KUBECONFIG (kubernetes): the cluster to run Jobs in; in-cluster credentials when neither is set. */
  kubeconfig: z.string().min(1).nullable(),
  /** --relay-listen / OUTPOST_WORKER_RELAY_LISTEN (kubernetes): where the worker accepts its pods' connections. */
  relayListen: z.string().regex(HOST_PORT, 'host:port, e.g. 0.0.0.0:7420'),
  /** --relay-address / OUTPOST_WORKER_RELAY_ADDRESS (kubernetes): the address pods dial; `$POD_IP` and the listen port by default. */
  relayAddress: z.string().regex(HOST_OPTIONAL_PORT, 'host or host:port, e.g. 10.1.2.3:7420').nullable(),
  /** --image-pull-timeout / OUTPOST_WORKER_IMAGE_PULL_TIMEOUT (kubernetes): how long a pod may fail to pull its image before the run crashes. */
  imagePullTimeoutMs: duration('image pull timeout').pipe(z.number().min(0).max(86_400_000)),
  /** --unschedulable-timeout / OUTPOST_WORKER_UNSCHEDULABLE_TIMEOUT (kubernetes): how long a pod may stay unschedulable before the run crashes. */
  unschedulableTimeoutMs: duration('unschedulable timeout').pipe(z.number().min(0).max(86_400_000)),
  /**
   * --base-job-template / OUTPOST_WORKER_BASE_JOB_TEMPLATE (kubernetes): the Job (JSON or YAML file)
   * every run's Job is built from; DEFAULT_BASE_JOB_TEMPLATE when not set. The pool's template from
   * the API is never used: the pod template is the customer's, set here. A template whose pod may
   * share the node's namespaces, run privileged, add capabilities or mount `hostPath` is refused.
   */
  baseJobTemplate: z.record(z.string(), z.unknown()).nullable(),
  /**
   * --allow-image (repeatable) / OUTPOST_WORKER_ALLOW_IMAGES (comma-separated) (kubernetes): image
   * prefixes a deployment's `image` job variable may name, matched at a `/`, `:` or `@` boundary
   * (`registry.internal/acme/` or `registry.internal/acme`, never `registry.internal/acme-evil`);
   * none by default: only the base job template's image.
   */
  allowImages: z.array(z.string().regex(/^[A-Za-z0-9][^\s,]{0,254}$/, 'an image prefix such as registry.internal/acme/')),
  /**
   * --allow-service-account (repeatable) / OUTPOST_WORKER_ALLOW_SERVICE_ACCOUNTS (kubernetes):
   * ServiceAccounts a `serviceAccountName` job variable may name; none by default: the template's.
   * The worker's own is refused even when listed (its Role could start Jobs outside these bounds).
   */
  allowServiceAccounts: z.array(z.string().regex(DNS_SUBDOMAIN, 'a ServiceAccount name')),
  /**
   * --allow-secret (repeatable) / OUTPOST_WORKER_ALLOW_SECRETS (kubernetes): Kubernetes Secrets
   * the `envFromSecrets` job variable may read; none by default.
   */
  allowSecrets: z.array(z.string().regex(DNS_SUBDOMAIN, 'a Secret name')),
  /**
   * --allow-namespace (repeatable) / OUTPOST_WORKER_ALLOW_NAMESPACES (kubernetes): namespaces a
   * `namespace` job variable may pick besides the worker's (and the template's); none by default.
   */
  allowNamespaces: z.array(z.string().regex(DNS_LABEL, 'a Kubernetes namespace name')),
  /**
   * --allow-toleration (repeatable) / OUTPOST_WORKER_ALLOW_TOLERATIONS (kubernetes): taint keys a
   * `tolerations` job variable may tolerate (e.g. nvidia.com/gpu); none by default: the template's.
   */
  allowTolerations: z.array(z.string().regex(QUALIFIED_NAME, 'a taint key such as nvidia.com/gpu')),
  /**
   * --allow-pod-label (repeatable) / OUTPOST_WORKER_ALLOW_POD_LABELS (kubernetes): label keys the
   * `labels` job variable may set, or prefixes ending in `/`; none by default: the template's.
   */
  allowPodLabels: z.array(z.string().regex(KEY_OR_PREFIX, 'a label key, or a prefix ending in /')),
  /**
   * --allow-pod-annotation (repeatable) / OUTPOST_WORKER_ALLOW_POD_ANNOTATIONS (kubernetes):
   * annotation keys the `annotations` job variable may set, or prefixes ending in `/`; none by default.
   */
  allowPodAnnotations: z.array(z.string().regex(KEY_OR_PREFIX, 'an annotation key, or a prefix ending in /')),
  /**
   * --otel-share-collector-credentials / OUTPOST_WORKER_OTEL_SHARE_COLLECTOR_CREDENTIALS=true: flows
   * (processes and pods) get the worker's OTLP headers (OTEL_EXPORTER_OTLP_HEADERS,
   * OTEL_EXPORTER_OTLP_TRACES_HEADERS, …), which usually carry the collector's API key. Off: flows
   * get every other OTEL_* setting, and export to a collector that needs no credentials.
   */
  otelShareCollectorCredentials: z.enum(['true', 'false'], 'true or false').transform((value) => value === 'true'),
});

/** Parses `--relay-listen`: host and port. */
export function splitHostPort(value: string): { host: string; port: number | null } {
  const at = value.lastIndexOf(':');
  if (at < 0 || value.endsWith(']')) return { host: value.replace(/^\[|\]$/g, ''), port: null };
  return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(value.slice(at + 1)) };
}

export type SecretSourceKind = z.infer<typeof SecretSource>;

export type WorkerOptions = Omit<z.infer<typeof RawOptions>, 'labels'> & {
  labels: Record<string, string>;
  /**
   * --trust-key (repeatable) / OUTPOST_TRUST_KEYS (comma-separated paths): the deploy keys whose
   * signatures this worker accepts. Empty: every run the control plane hands over is run (trust.ts).
   */
  trustKeys: TrustKey[];
  /** What the worker offers runs, once detected at start (resources.ts); absent before. */
  resources?: WorkerResources;
};

export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

function defaultDirs(env: NodeJS.ProcessEnv): { cacheDir: string; spoolDir: string; resultsDir: string } {
  const home = env.HOME ? env.HOME : safeHomedir();
  if (!home) {
    return { cacheDir: resolve('.outpost/cache'), spoolDir: resolve('.outpost/spool'), resultsDir: resolve('.outpost/results') };
  }
  const cacheBase = env.XDG_CACHE_HOME || join(home, '.cache');
  const stateBase = env.XDG_STATE_HOME || join(home, '.local', 'state');
  const dataBase = env.XDG_DATA_HOME || join(home, '.local', 'share');
  return {
    cacheDir: join(cacheBase, 'outpost'),
    spoolDir: join(stateBase, 'outpost', 'spool'),
    resultsDir: join(dataBase, 'outpost', 'results'),
  };
}

/**
 * Splits a command line into arguments the way a POSIX shell would for plain words, single and
 * double quotes and backslashes — and nothing more: no variables, globs or pipes, because the
 * command is run without a shell.
 */
export function splitCommand(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let started = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) current += line[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
      started = true;
    } else if (/\s/.test(c)) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (quote) throw new OptionsError(`--secrets-command: unterminated ${quote} quote`);
  if (started) args.push(current);
  return args;
}

function safeHomedir(): string | null {
  try {
    return homedir() || null;
  } catch {
    return null;
  }
}

/** Where each setting comes from, so an error names what the operator has to change. */
const SOURCES: Record<string, string> = {
  apiUrl: 'OUTPOST_API_URL',
  apiKey: 'OUTPOST_API_KEY',
  pool: '--pool',
  name: '--name',
  limit: '--limit',
  labels: '--label',
  queues: '--queue',
  heartbeatIntervalMs: '--heartbeat-interval',
  pollWaitMs: '--poll-wait',
  prefetchMs: '--prefetch',
  drainGraceMs: '--drain-grace',
  cancelGraceMs: '--cancel-grace',
  cancelNoticeMs: 'OUTPOST_WORKER_CANCEL_NOTICE',
  logBatchSize: 'OUTPOST_WORKER_LOG_BATCH_SIZE',
  logBatchMs: 'OUTPOST_WORKER_LOG_BATCH_INTERVAL',
  passEnv: '--pass-env',
  logLevel: '--log-level',
  logFormat: '--log-format',
  secretsDir: '--secrets-dir',
  secretsCommand: '--secrets-command',
  secretsOrder: '--secrets-order',
  secretsTimeoutMs: 'OUTPOST_WORKER_SECRETS_TIMEOUT',
  resultStorage: '--result-storage',
  prestart: '--prestart',
  warm: '--warm',
  allowSources: '--allow-source',
  healthPort: '--health-port',
  healthHost: '--health-host',
  sensors: '--sensors',
  triggers: '--triggers',
  sensorPollMs: 'OUTPOST_WORKER_SENSOR_POLL',
  gpus: '--gpus',
  gpuMemoryGb: '--gpu-memory-gb',
  gpuModel: '--gpu-model',
  memoryGb: '--memory-gb',
  cpus: '--cpus',
  type: '--type',
  namespace: '--namespace',
  kubeconfig: '--kubeconfig',
  relayListen: '--relay-listen',
  relayAddress: '--relay-address',
  imagePullTimeoutMs: '--image-pull-timeout',
  unschedulableTimeoutMs: '--unschedulable-timeout',
  baseJobTemplate: '--base-job-template',
  allowImages: '--allow-image',
  allowServiceAccounts: '--allow-service-account',
  allowSecrets: '--allow-secret',
  allowNamespaces: '--allow-namespace',
  allowTolerations: '--allow-toleration',
  allowPodLabels: '--allow-pod-label',
  allowPodAnnotations: '--allow-pod-annotation',
  otelShareCollectorCredentials: 'OUTPOST_WORKER_OTEL_SHARE_COLLECTOR_CREDENTIALS',
};

const FLAGS = {
  pool: { type: 'string' },
  name: { type: 'string' },
  limit: { type: 'string' },
  label: { type: 'string', multiple: true },
  queue: { type: 'string', multiple: true },
  'heartbeat-interval': { type: 'string' },
  'poll-wait': { type: 'string' },
  prefetch: { type: 'string' },
  'drain-grace': { type: 'string' },
  'cancel-grace': { type: 'string' },
  'pass-env': { type: 'string', multiple: true },
  'cache-dir': { type: 'string' },
  'spool-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'secrets-dir': { type: 'string' },
  'secrets-command': { type: 'string' },
  'secrets-order': { type: 'string' },
  'result-storage': { type: 'string' },
  prestart: { type: 'string' },
  warm: { type: 'string' },
  'allow-source': { type: 'string', multiple: true },
  'trust-key': { type: 'string', multiple: true },
  'health-port': { type: 'string' },
  'health-host': { type: 'string' },
  sensors: { type: 'string' },
  triggers: { type: 'string' },
  gpus: { type: 'string' },
  'gpu-memory-gb': { type: 'string' },
  'gpu-model': { type: 'string' },
  'memory-gb': { type: 'string' },
  cpus: { type: 'string' },
  type: { type: 'string' },
  namespace: { type: 'string' },
  kubeconfig: { type: 'string' },
  'relay-listen': { type: 'string' },
  'relay-address': { type: 'string' },
  'image-pull-timeout': { type: 'string' },
  'unschedulable-timeout': { type: 'string' },
  'base-job-template': { type: 'string' },
  'allow-image': { type: 'string', multiple: true },
  'allow-service-account': { type: 'string', multiple: true },
  'allow-secret': { type: 'string', multiple: true },
  'allow-namespace': { type: 'string', multiple: true },
  'allow-toleration': { type: 'string', multiple: true },
  'allow-pod-label': { type: 'string', multiple: true },
  'allow-pod-annotation': { type: 'string', multiple: true },
  'otel-share-collector-credentials': { type: 'boolean' },
} as const;

/** The defaults of the flags that have one, as the help states them and the parser applies them. */
const DEFAULTS = {
  limit: '4',
  heartbeatInterval: '10s',
  pollWait: '25s',
  prefetch: '0s',
  drainGrace: '30s',
  cancelGrace: '10s',
  prestart: '2',
  warm: '0',
  healthHost: '127.0.0.1',
  sensors: '1',
  triggers: '4',
  sensorPoll: '5s',
  type: 'process',
  relayListen: '0.0.0.0:7420',
  imagePullTimeout: '120s',
  unschedulableTimeout: '300s',
} as const;

export const OPTIONS_HELP = `Usage: outpost worker start --pool <name> [options]

  --pool <name>               work pool to claim runs from (required)
  --name <name>               worker name (default: hostname-pid)
  --limit <n>                 runs at once (default: ${DEFAULTS.limit})
  --label <key=value>         routing label, repeatable
  --queue <name>              claim only from this queue, repeatable
  --heartbeat-interval <d>    lease renewal interval (default: ${DEFAULTS.heartbeatInterval})
  --poll-wait <d>             long-poll wait of a claim (default: ${DEFAULTS.pollWait})
  --prefetch <d>              claim runs due this soon and start each at its due time, so a burst due at
                              once starts on time; runs under a concurrency limit wait until due
                              (default: ${DEFAULTS.prefetch}, off; at most 60s)
  --drain-grace <d>           on SIGTERM, time runs get to finish (default: ${DEFAULTS.drainGrace})
  --cancel-grace <d>          SIGTERM to SIGKILL of a cancelled run (default: ${DEFAULTS.cancelGrace})
  --pass-env <NAME>           pass this worker variable to flows, repeatable
  --cache-dir <path>          bundle cache (default: ~/.cache/outpost)
  --spool-dir <path>          log spool (default: ~/.local/state/outpost/spool)
  --log-level <level>         trace|debug|info|warn|error (default: info)
  --log-format <format>       pretty (readable lines) or json (pino JSON); default: pretty on a terminal, json when piped
  --secrets-dir <path>        read secrets from files named for them (e.g. Kubernetes-mounted)
  --secrets-command <cmd>     run this (no shell) to read a secret; {name} is replaced by its name
  --secrets-order <list>      where to look, first hit wins (default: env,dir,command — those set up)
  --result-storage <url>      file:///dir or s3://bucket/prefix?endpoint=…&region=…
                              (default: file://~/.local/share/outpost/results)
  --prestart <n>              flow processes kept started, waiting for a run (default: ${DEFAULTS.prestart})
  --warm <n>                  flow processes kept with a recent deployment's code already imported, so its
                              next run starts at once; its module top level must not read the run's
                              variables (default: ${DEFAULTS.warm}, off)
  --allow-source <prefix>     run code only from sources starting with this, repeatable (default: any)
  --trust-key <file>          run only deployments signed by this Ed25519 public key (outpost deploy-keys
                              create), repeatable for a rotation; env OUTPOST_TRUST_KEYS, comma-separated
                              (default: none, and the worker trusts the control plane)
  --health-port <port>        serve /healthz and /metrics on this port (default: off)
  --health-host <address>     address of the health port (default: ${DEFAULTS.healthHost}; 0.0.0.0 for Kubernetes probes)
  --sensors <n>               sensor ticks of the pool evaluated at once; 0 evaluates none (default: ${DEFAULTS.sensors})
  --triggers <n>              polls of deferred jobs run at once; 0 polls none (default: ${DEFAULTS.triggers})
  --gpus <ids>                GPU device ids offered, e.g. 0,1,2,3 (default: detected with nvidia-smi, else none)
  --gpu-memory-gb <n>         memory of each declared GPU
  --gpu-model <name>          model of the declared GPUs, e.g. A100
  --memory-gb <n>             host memory runs may ask for (default: the machine's total)
  --cpus <n>                  CPU slots runs may ask for (default: os.availableParallelism())
  --type <kind>               process (a process group per run here) or kubernetes (a Job per attempt) (default: ${DEFAULTS.type})
  --otel-share-collector-credentials
                              give flows the OTLP headers (collector credentials) too; without it they get
                              every other OTEL_* setting

Kubernetes (--type kubernetes):
  --namespace <name>          namespace of the Jobs (default: the kubeconfig's, else "default")
  --kubeconfig <path>         cluster credentials (default: in-cluster, else KUBECONFIG)
  --base-job-template <file>  the Job (JSON or YAML) every run's Job is built from (default: the SDK's
                              DEFAULT_BASE_JOB_TEMPLATE; the pool's template from the API is ignored)
  --allow-image <prefix>      images a deployment's job variables may name, repeatable (default: none,
                              only the template's image)
  --allow-service-account <name>
                              service accounts job variables may name, repeatable (default: the template's)
  --allow-secret <name>       Secrets envFromSecrets may read, repeatable (default: none)
  --allow-namespace <name>    namespaces job variables may pick, repeatable (default: the worker's)
  --allow-toleration <key>    taint keys job variables may tolerate, repeatable (default: the template's)
  --allow-pod-label <key>     label keys (or prefixes ending in /) job variables may set, repeatable (default: none)
  --allow-pod-annotation <key>
                              annotation keys (or prefixes ending in /) job variables may set, repeatable (default: none)
  --relay-listen <host:port>  where pods connect back to this worker (default: ${DEFAULTS.relayListen})
  --relay-address <host:port> the address pods dial (default: $POD_IP and the listen port)
  --image-pull-timeout <d>    a pod that cannot pull its image this long crashes the run (default: ${DEFAULTS.imagePullTimeout})
  --unschedulable-timeout <d> a pod unschedulable this long crashes the run (default: ${DEFAULTS.unschedulableTimeout})

Environment: OUTPOST_API_URL, OUTPOST_API_KEY (required); OUTPOST_WORKER_* for the options above.`;

/**
 * Reads the worker's configuration once, from flags (after `start`) and the environment.
 * Flags win over environment variables. Throws `OptionsError` naming every bad field.
 */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): WorkerOptions {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options: FLAGS, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new OptionsError((error as Error).message);
  }
  const flag = (key: keyof typeof FLAGS): string | undefined => values[key] as string | undefined;
  const list = (key: keyof typeof FLAGS): string[] => (values[key] as string[] | undefined) ?? [];
  const dirs = defaultDirs(env);
  const secretsCommand = nonEmpty(flag('secrets-command') ?? env.OUTPOST_WORKER_SECRETS_COMMAND);
  const envList = (name: string): string[] =>
    (env[name] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const input = {
    apiUrl: env.OUTPOST_API_URL ?? '',
    apiKey: env.OUTPOST_API_KEY ?? '',
    pool: flag('pool') ?? env.OUTPOST_WORKER_POOL ?? '',
    name: flag('name') ?? env.OUTPOST_WORKER_NAME ?? `${hostname()}-${process.pid}`,
    limit: flag('limit') ?? env.OUTPOST_WORKER_LIMIT ?? DEFAULTS.limit,
    labels: list('label').length > 0 ? list('label') : envList('OUTPOST_WORKER_LABELS'),
    queues: list('queue').length > 0 ? list('queue') : envList('OUTPOST_WORKER_QUEUES'),
    cacheDir: resolve(flag('cache-dir') ?? env.OUTPOST_WORKER_CACHE_DIR ?? dirs.cacheDir),
    spoolDir: resolve(flag('spool-dir') ?? env.OUTPOST_WORKER_SPOOL_DIR ?? dirs.spoolDir),
    heartbeatIntervalMs: flag('heartbeat-interval') ?? env.OUTPOST_WORKER_HEARTBEAT_INTERVAL ?? DEFAULTS.heartbeatInterval,
    pollWaitMs: flag('poll-wait') ?? env.OUTPOST_WORKER_POLL_WAIT ?? DEFAULTS.pollWait,
    prefetchMs: flag('prefetch') ?? env.OUTPOST_WORKER_PREFETCH ?? DEFAULTS.prefetch,
    drainGraceMs: flag('drain-grace') ?? env.OUTPOST_WORKER_DRAIN_GRACE ?? DEFAULTS.drainGrace,
    cancelGraceMs: flag('cancel-grace') ?? env.OUTPOST_WORKER_CANCEL_GRACE ?? DEFAULTS.cancelGrace,
    cancelNoticeMs: env.OUTPOST_WORKER_CANCEL_NOTICE ?? '2s',
    logBatchSize: env.OUTPOST_WORKER_LOG_BATCH_SIZE ?? '500',
    logBatchMs: env.OUTPOST_WORKER_LOG_BATCH_INTERVAL ?? '500ms',
    passEnv: list('pass-env').length > 0 ? list('pass-env') : envList('OUTPOST_WORKER_PASS_ENV'),
    logLevel: flag('log-level') ?? env.OUTPOST_LOG_LEVEL ?? 'info',
    logFormat: flag('log-format') ?? env.OUTPOST_LOG_FORMAT ?? 'auto',
    secretsDir: nonEmpty(flag('secrets-dir') ?? env.OUTPOST_WORKER_SECRETS_DIR),
    secretsCommand: secretsCommand ? splitCommand(secretsCommand) : null,
    secretsOrder: [] as string[],
    secretsTimeoutMs: env.OUTPOST_WORKER_SECRETS_TIMEOUT ?? '10s',
    resultStorage: flag('result-storage') ?? env.OUTPOST_WORKER_RESULT_STORAGE ?? pathToFileURL(dirs.resultsDir).href,
    prestart: flag('prestart') ?? env.OUTPOST_WORKER_PRESTART ?? DEFAULTS.prestart,
    warm: flag('warm') ?? env.OUTPOST_WORKER_WARM ?? DEFAULTS.warm,
    allowSources: list('allow-source').length > 0 ? list('allow-source') : envList('OUTPOST_WORKER_ALLOW_SOURCES'),
    healthPort: nonEmpty(flag('health-port') ?? env.OUTPOST_WORKER_HEALTH_PORT),
    healthHost: flag('health-host') ?? env.OUTPOST_WORKER_HEALTH_HOST ?? DEFAULTS.healthHost,
    sensors: flag('sensors') ?? env.OUTPOST_WORKER_SENSORS ?? DEFAULTS.sensors,
    triggers: flag('triggers') ?? env.OUTPOST_WORKER_TRIGGERS ?? DEFAULTS.triggers,
    sensorPollMs: env.OUTPOST_WORKER_SENSOR_POLL ?? DEFAULTS.sensorPoll,
    gpus: gpuList(flag('gpus') ?? env.OUTPOST_WORKER_GPUS),
    gpuMemoryGb: nonEmpty(flag('gpu-memory-gb') ?? env.OUTPOST_WORKER_GPU_MEMORY_GB),
    gpuModel: nonEmpty(flag('gpu-model') ?? env.OUTPOST_WORKER_GPU_MODEL),
    memoryGb: nonEmpty(flag('memory-gb') ?? env.OUTPOST_WORKER_MEMORY_GB),
    cpus: nonEmpty(flag('cpus') ?? env.OUTPOST_WORKER_CPUS),
    type: flag('type') ?? env.OUTPOST_WORKER_TYPE ?? DEFAULTS.type,
    namespace: nonEmpty(flag('namespace') ?? env.OUTPOST_WORKER_NAMESPACE),
    kubeconfig: nonEmpty(flag('kubeconfig') ?? env.KUBECONFIG),
    relayListen: flag('relay-listen') ?? env.OUTPOST_WORKER_RELAY_LISTEN ?? DEFAULTS.relayListen,
    relayAddress: nonEmpty(flag('relay-address') ?? env.OUTPOST_WORKER_RELAY_ADDRESS),
    imagePullTimeoutMs: flag('image-pull-timeout') ?? env.OUTPOST_WORKER_IMAGE_PULL_TIMEOUT ?? DEFAULTS.imagePullTimeout,
    unschedulableTimeoutMs:
      flag('unschedulable-timeout') ?? env.OUTPOST_WORKER_UNSCHEDULABLE_TIMEOUT ?? DEFAULTS.unschedulableTimeout,
    baseJobTemplate: readJobTemplate(nonEmpty(flag('base-job-template') ?? env.OUTPOST_WORKER_BASE_JOB_TEMPLATE)),
    allowImages: list('allow-image').length > 0 ? list('allow-image') : envList('OUTPOST_WORKER_ALLOW_IMAGES'),
    allowServiceAccounts:
      list('allow-service-account').length > 0 ? list('allow-service-account') : envList('OUTPOST_WORKER_ALLOW_SERVICE_ACCOUNTS'),
    allowSecrets: list('allow-secret').length > 0 ? list('allow-secret') : envList('OUTPOST_WORKER_ALLOW_SECRETS'),
    allowNamespaces: list('allow-namespace').length > 0 ? list('allow-namespace') : envList('OUTPOST_WORKER_ALLOW_NAMESPACES'),
    allowTolerations:
      list('allow-toleration').length > 0 ? list('allow-toleration') : envList('OUTPOST_WORKER_ALLOW_TOLERATIONS'),
    allowPodLabels: list('allow-pod-label').length > 0 ? list('allow-pod-label') : envList('OUTPOST_WORKER_ALLOW_POD_LABELS'),
    allowPodAnnotations:
      list('allow-pod-annotation').length > 0 ? list('allow-pod-annotation') : envList('OUTPOST_WORKER_ALLOW_POD_ANNOTATIONS'),
    otelShareCollectorCredentials:
      values['otel-share-collector-credentials'] === true
        ? 'true'
        : (nonEmpty(env.OUTPOST_WORKER_OTEL_SHARE_COLLECTOR_CREDENTIALS)?.trim().toLowerCase() ?? 'false'),
  };
  if (input.kubeconfig) input.kubeconfig = resolve(input.kubeconfig.split(':')[0]!);
  // Pods dial the pod IP of the worker (the downward API's `status.podIP`) unless told otherwise.
  if (!input.relayAddress && env.POD_IP) input.relayAddress = env.POD_IP;
  if (input.secretsDir) input.secretsDir = resolve(input.secretsDir);
  const order = flag('secrets-order') ?? env.OUTPOST_WORKER_SECRETS_ORDER;
  input.secretsOrder = order
    ? order
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : ['env', ...(input.secretsDir ? ['dir'] : []), ...(input.secretsCommand ? ['command'] : [])];
  const parsed = RawOptions.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const field = String(i.path[0] ?? '');
      return `${SOURCES[field] ? `${SOURCES[field]} (${field})` : field || 'options'}: ${i.message}`;
    });
    throw new OptionsError(`invalid worker configuration: ${problems.join('; ')}`);
  }
  const data = parsed.data;
  const problems: string[] = [];
  if (new Set(data.secretsOrder).size !== data.secretsOrder.length) problems.push('--secrets-order: a source is listed twice');
  if (data.secretsOrder.includes('dir') && !data.secretsDir)
    problems.push('--secrets-order: lists dir but --secrets-dir is not set');
  if (data.secretsOrder.includes('command') && !data.secretsCommand) {
    problems.push('--secrets-order: lists command but --secrets-command is not set');
  }
  if (
    data.type === 'kubernetes' &&
    !data.relayAddress &&
    ['0.0.0.0', '::', '[::]'].includes(splitHostPort(data.relayListen).host)
  ) {
    problems.push('--relay-address: pods need an address to dial; set --relay-address or POD_IP (the downward API status.podIP)');
  }
  if (problems.length > 0) throw new OptionsError(`invalid worker configuration: ${problems.join('; ')}`);
  const labels: Record<string, string> = {};
  for (const label of parsed.data.labels) {
    const at = label.indexOf('=');
    labels[label.slice(0, at)] = label.slice(at + 1);
  }
  const trustKeys = readTrustKeys(list('trust-key').length > 0 ? list('trust-key') : envList('OUTPOST_TRUST_KEYS'));
  return { ...data, labels, trustKeys };
}

/**
 * Reads `--trust-key` / OUTPOST_TRUST_KEYS: Ed25519 public keys (PEM files, `outpost deploy-keys
 * create` writes them). With any, the worker runs only deployments signed by one of them; several
 * let a rotation overlap. A key that cannot be read stops the worker at boot, naming the file.
 */
function readTrustKeys(paths: readonly string[]): TrustKey[] {
  const keys: TrustKey[] = [];
  for (const path of paths) {
    let pem: string;
    try {
      pem = readFileSync(resolve(path), 'utf8');
    } catch (error) {
      throw new OptionsError(`--trust-key: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      const key = parseTrustKey(pem);
      if (!keys.some((k) => k.kid === key.kid)) keys.push(key);
    } catch (error) {
      if (!(error instanceof DeploymentSignatureError)) throw error;
      throw new OptionsError(`--trust-key: ${path} ${error.message}`);
    }
  }
  return keys;
}

/** `0,1,2` as ids; unset is null (detect), and an empty value declares no GPUs. */
function gpuList(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Reads `--base-job-template`: a Job as JSON or YAML, within the pod policy (executors/kubernetes/pod-policy.ts). */
function readJobTemplate(path: string | null): Record<string, unknown> | null {
  if (!path) return null;
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new OptionsError(`--base-job-template: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new OptionsError(`--base-job-template: ${path} is neither JSON nor YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const job = parsed as { kind?: unknown; spec?: { template?: { spec?: { containers?: unknown } } } } | null;
  if (
    !job ||
    typeof job !== 'object' ||
    Array.isArray(job) ||
    job.kind !== 'Job' ||
    !Array.isArray(job.spec?.template?.spec?.containers)
  ) {
    throw new OptionsError(`--base-job-template: ${path} must be a Job with spec.template.spec.containers`);
  }
  // The same policy every Job is checked against before it is created: refused here, the worker never starts with it.
  const [problem] = podTemplateProblems(job.spec?.template);
  if (problem) throw new OptionsError(`--base-job-template: ${path} sets ${problem.path}, which is refused: ${problem.message}`);
  return job as Record<string, unknown>;
}

function nonEmpty(value: string | undefined): string | null {
  return value && value.trim() !== '' ? value : null;
}
