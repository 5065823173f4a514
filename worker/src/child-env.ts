/**
 * The environment of a flow process: an allow-list of the worker's variables, the job's own
 * variables, and the run's identity. Anything else the worker holds — its API key, registry
 * credentials, run tokens — is absent by construction rather than removed by a deny-list.
 */

/** Variables a Node program commonly needs to behave like it does in the worker's shell. */
const ALLOWED = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'NODE_OPTIONS',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/** What an S3 result store needs from the worker's environment; given to flows only when results go to S3. */
const S3_CREDENTIALS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION'];

/**
 * OpenTelemetry variables that carry a collector's credentials: OTLP headers, which usually hold an
 * API key (`x-honeycomb-team=…`, `Authorization=Basic …`). Flows get every other `OTEL_*` setting;
 * these only when the worker's operator allows it (`--otel-share-collector-credentials`), for
 * process flows and pods alike.
 */
const OTEL_CREDENTIALS = /^OTEL_EXPORTER_OTLP_(TRACES_|METRICS_|LOGS_)?HEADERS$/;

/** Whether the variable is an OTLP exporter's headers: a collector credential. */
export function isOtelCredential(name: string): boolean {
  return OTEL_CREDENTIALS.test(name);
}

/**
 * Variables read once, when a Node process starts (or by the dynamic loader before it): setting them
 * in a process that is already running changes nothing, so a run that sets one cannot use a
 * pre-started flow process.
 */
const STARTUP_ONLY = /^(NODE_.*|UV_THREADPOOL_SIZE|LD_.*|DYLD_.*|OPENSSL_.*|SSL_CERT_(FILE|DIR)|MALLOC_.*|TZ)$/;

export interface BaseEnvInput {
  workerEnv: NodeJS.ProcessEnv;
  /** Extra worker variables the operator chose to pass (`--pass-env`). */
  passEnv: readonly string[];
  /** `--result-storage`: where the runtime keeps results (`file:///…` or `s3://…`). */
  resultStorage?: string;
  /** `--otel-share-collector-credentials`: flows get the OTLP headers too. @default false */
  shareCollectorCredentials?: boolean;
}

export interface RunEnvInput {
  /** The job's `env`, secrets resolved. */
  jobEnv: Record<string, string>;
  run: { id: string; attempt: number; flowName: string };
  /** GPU device ids the run may use (`CUDA_VISIBLE_DEVICES`); null leaves the variable unset. @default null */
  gpus?: string[] | null;
  /** The deployment's `jobVariables.waitHoldSeconds` (`OUTPOST_WAIT_HOLD_SECONDS`); null leaves the SDK's default. @default null */
  waitHoldSeconds?: number | null;
  /**
   * The directory of the run's unpacked bundle, with the files the deployment ships beside its
   * modules (`OUTPOST_BUNDLE_DIR`, also the flow's working directory). @default null (unset)
   */
  bundleDir?: string | null;
}

export type ChildEnvInput = BaseEnvInput & RunEnvInput;

/** The part of a flow process's environment that is the same for every run of this worker. */
export function baseChildEnv(input: BaseEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  const s3 = input.resultStorage?.startsWith('s3://') ?? false;
  for (const [name, value] of Object.entries(input.workerEnv)) {
    if (value === undefined) continue;
    // OTEL_*: the flow process exports its spans where the worker does; with the collector's credentials only when allowed.
    const otel = name.startsWith('OTEL_') && (input.shareCollectorCredentials === true || !isOtelCredential(name));
    if (ALLOWED.includes(name) || name.startsWith('LC_') || otel || input.passEnv.includes(name)) env[name] = value;
    else if (s3 && S3_CREDENTIALS.includes(name)) env[name] = value;
  }
  if (input.resultStorage) env.OUTPOST_RESULT_STORAGE = input.resultStorage;
  return env;
}

/** The part that belongs to one run: the job's variables and the run's identity. */
export function runChildEnv(input: RunEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.jobEnv)) {
    // The worker's configuration namespace stays the worker's, even if a job sets it to its own value.
    if (!name.startsWith('OUTPOST_')) env[name] = value;
  }
  env.OUTPOST_RUN_ID = input.run.id;
  env.OUTPOST_RUN_ATTEMPT = String(input.run.attempt);
  env.OUTPOST_FLOW_NAME = input.run.flowName;
  if (input.bundleDir) env.OUTPOST_BUNDLE_DIR = input.bundleDir;
  if (input.waitHoldSeconds !== undefined && input.waitHoldSeconds !== null) {
    env.OUTPOST_WAIT_HOLD_SECONDS = String(input.waitHoldSeconds);
  }
  if (input.gpus) {
    // The worker's assignment wins over a job's own value: another run may hold the other devices.
    env.CUDA_VISIBLE_DEVICES = input.gpus.join(',');
    env.OUTPOST_ASSIGNED_GPUS = input.gpus.join(',');
  }
  return env;
}

export function buildChildEnv(input: ChildEnvInput): Record<string, string> {
  return { ...baseChildEnv(input), ...runChildEnv(input) };
}

/** Whether a run's own variables can be applied to an already started flow process. */
export function canApplyAtStart(jobEnv: Record<string, string>): boolean {
  return Object.keys(jobEnv).every((name) => !STARTUP_ONLY.test(name));
}

const HEADER_VALUE_REDACTED_LENGTH = 8;

/**
 * Worker credentials a flow process is given (for S3 results, and collector credentials when shared):
 * redacted like secrets. Of OTLP headers (`key=value,key=value`), the whole and each value of 8 or
 * more characters: which header holds the key is not known, and API keys are long, while short
 * values (a dataset `flows`, an org id) would mask ordinary words of the flow's output.
 */
export function credentialValues(env: Record<string, string>): string[] {
  const values = S3_CREDENTIALS.filter(
    (name) => name.startsWith('AWS_ACCESS') || name.startsWith('AWS_SECRET') || name === 'AWS_SESSION_TOKEN',
  ).map((name) => env[name]);
  for (const [name, headers] of Object.entries(env)) {
    if (!isOtelCredential(name)) continue;
    values.push(headers);
    for (const pair of headers.split(',')) {
      const value = pair.slice(pair.indexOf('=') + 1).trim();
      if (value.length < HEADER_VALUE_REDACTED_LENGTH) continue;
      values.push(value);
      try {
        values.push(decodeURIComponent(value));
      } catch {
        // Not percent-encoded: the value as written is redacted already.
      }
    }
  }
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

/**
 * The OpenTelemetry part of a flow environment (`baseChildEnv`), split for a pod: the settings go
 * into the pod spec, where anyone who may read the Job sees them; the collector credentials (present
 * only when shared) go over the relay, like the run's secrets.
 */
export function otelEnvOf(env: Record<string, string>): {
  settings: Record<string, string>;
  credentials: Record<string, string>;
} {
  const settings: Record<string, string> = {};
  const credentials: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('OTEL_')) continue;
    if (isOtelCredential(name)) credentials[name] = value;
    else settings[name] = value;
  }
  return { settings, credentials };
}
