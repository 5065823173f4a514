import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_BASE_JOB_TEMPLATE as SDK_DEFAULT_BASE_JOB_TEMPLATE } from '@outpost/sdk/contracts';
import { AttemptRefused } from '../executor.js';
import { BOUND_FLAGS, isImageAllowed, isKeyAllowed, type JobBounds, quantityValue, TEMPLATE_ONLY } from './bounds.js';
import { CONTAINER_LISTS, containerNames, DEFAULT_FLOW_SECURITY_CONTEXT, podTemplateProblems } from './pod-policy.js';

/*
 * The Job an attempt runs as, built from the worker's base job template and the deployment's job
 * variables, within the bounds the worker's `--allow-*` flags set (bounds.ts) and the pod policy
 * (pod-policy.ts). Pure: no I/O, no clock, so every manifest it can build is checked against the
 * current Kubernetes schemas in a unit test.
 */

/** A Kubernetes object as plain JSON. */
export type KubeObject = Record<string, unknown>;

/** The base job template of a worker started without `--base-job-template`. */
export const DEFAULT_BASE_JOB_TEMPLATE: KubeObject = SDK_DEFAULT_BASE_JOB_TEMPLATE;

/**
 * The base job template this worker builds Jobs from: its `--base-job-template`, else the default.
 * Never the pool's: the control plane is not trusted inside the customer's network (design
 * invariant 8), and a pod template from it could ask for the node (`hostPID`, a privileged
 * container, a `hostPath` of `/`) or for any Secret and service account of the namespace.
 */
export function workerTemplate(configured: KubeObject | null): KubeObject {
  return configured ?? DEFAULT_BASE_JOB_TEMPLATE;
}

/** The job variables a Kubernetes deployment may set. Anything else in `jobVariables` is ignored here. */
export interface KubernetesJobVariables {
  image?: string;
  namespace?: string;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  serviceAccountName?: string;
  /** Plain values only; `{ $secret }` values reach the flow over the relay, never the pod spec. */
  env?: Record<string, unknown>;
  /** Variable name → a Kubernetes Secret's name and key (`{ name, key }`), or `"<secret>/<key>"`. */
  envFromSecrets?: Record<string, { name: string; key: string } | string>;
  activeDeadlineSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** What a claimed run may ask of the hardware (`claimed.resources`), read defensively. */
export interface RunResources {
  gpus?: number;
  gpuMemoryGb?: number;
  memoryGb?: number;
  cpus?: number;
}

export interface ManifestInput {
  runId: string;
  attempt: number;
  pool: string;
  worker: string;
  /** The worker's namespace: where Jobs go when neither the job variables nor the template name one. */
  namespace: string;
  template: KubeObject;
  jobVariables: Record<string, unknown>;
  /** What the worker's `--allow-*` flags let job variables add; absent: nothing beyond the template. */
  bounds?: JobBounds;
  /** The ServiceAccount the worker itself runs as, which no run's pod may use; null when not known. */
  ownServiceAccount?: { namespace: string; name: string } | null;
  resources?: RunResources | null | undefined;
  /** The pod's command (the pod runner) and its connection to this worker. */
  command: string[];
  relayAddress: string;
  /** The attempt's relay Secret (`relaySecretName`): the pod's token and the relay's pin come from it, never from the pod spec. */
  relaySecret: string;
  /**
   * The worker's OpenTelemetry settings (`OTEL_*` without collector credentials), so the pod's flow
   * exports its spans where the worker does; the template's and the job's own variables override them.
   */
  otelEnv?: Record<string, string>;
}

export const LABEL_RUN_ID = 'outpost.dev/run-id';
export const LABEL_ATTEMPT = 'outpost.dev/attempt';
export const LABEL_POOL = 'outpost.dev/pool';
export const LABEL_WORKER = 'outpost.dev/worker';
export const FLOW_CONTAINER = 'flow';

/**
 * A job variable the executor cannot turn into a Job, or one outside the worker's bounds: the run
 * fails (a configuration error, never retried) with this message, before anything is created.
 */
export class JobManifestError extends AttemptRefused {
  override readonly name = 'JobManifestError';
}

/** Refuses a job variable outside a bound, naming the variable and, when one can, the flag that widens it. */
function outOfBounds(variable: string, value: unknown, why: string, bound?: keyof JobBounds): never {
  const widen = bound ? `; the worker allows more with ${BOUND_FLAGS[bound]}` : '';
  throw new JobManifestError(
    `job variable ${variable} (${JSON.stringify(value)}) is outside this worker's bounds: ${why}${widen}`,
  );
}

/** `outpost-<run id, first 8+ characters>-<attempt>`: one name per attempt, so a second create is a 409. */
export function jobName(runId: string, attempt: number): string {
  const suffix = `-${attempt}`;
  const compact = runId.toLowerCase().replace(/[^a-z0-9]/g, '');
  const room = 63 - 'outpost-'.length - suffix.length;
  return `outpost-${compact.slice(0, Math.max(8, Math.min(room, compact.length)))}${suffix}`;
}

/** `<job name>-relay`: the Secret that hands an attempt's pod its relay token and the pin of the relay's TLS key. */
export function relaySecretName(runId: string, attempt: number): string {
  return `${jobName(runId, attempt)}-relay`;
}

/** The keys of the relay Secret, as the pod's variables name them. */
export const RELAY_SECRET_KEYS = { token: 'token', pin: 'pin' } as const;

/**
 * The Secret an attempt's pod reads its relay token and the relay's pin from. It is
 * created before the Job, owned by the Job once that exists, and deleted when the attempt ends, so
 * `kubectl get job -o yaml` and the pod spec show only its name.
 */
export function buildRelaySecret(
  input: Pick<ManifestInput, 'runId' | 'attempt' | 'pool' | 'worker'> & { namespace: string; token: string; pin: string },
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: relaySecretName(input.runId, input.attempt), namespace: input.namespace, labels: attemptLabels(input) },
    type: 'Opaque',
    data: {
      [RELAY_SECRET_KEYS.token]: Buffer.from(input.token, 'utf8').toString('base64'),
      [RELAY_SECRET_KEYS.pin]: Buffer.from(input.pin, 'utf8').toString('base64'),
    },
  };
}

/**
 * A label value (≤63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends). Worker and pool
 * names that do not fit are shortened with a hash, so the label still names one of them.
 */
export function labelValue(value: string): string {
  if (/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/.test(value)) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 10);
  const cleaned = value
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 50)
    .replace(/[^A-Za-z0-9]+$/, '');
  return cleaned ? `${cleaned}-${hash}` : hash;
}

/** The labels that find an attempt's Job and Pod. */
export function attemptLabels(input: Pick<ManifestInput, 'runId' | 'attempt' | 'pool' | 'worker'>): Record<string, string> {
  return {
    [LABEL_RUN_ID]: input.runId,
    [LABEL_ATTEMPT]: String(input.attempt),
    [LABEL_POOL]: labelValue(input.pool),
    [LABEL_WORKER]: labelValue(input.worker),
  };
}

function object(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new JobManifestError(`job variable "${what}" must be an object`);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw new JobManifestError(`job variable ${what}.${key} must be a string`);
    out[key] = item;
  }
  return out;
}

function quantityMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new JobManifestError(`job variable "${what}" must be an object`);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'number' && Number.isFinite(item) && item >= 0) out[key] = String(item);
    else if (typeof item === 'string' && /^[0-9.]+[A-Za-z]*$/.test(item)) out[key] = item;
    else throw new JobManifestError(`job variable ${what}.${key} must be a quantity such as "500m" or "2Gi"`);
  }
  return out;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function secretRefOf(name: string, value: unknown): { name: string; key: string } {
  if (typeof value === 'string') {
    const slash = value.indexOf('/');
    if (slash > 0 && slash < value.length - 1) return { name: value.slice(0, slash), key: value.slice(slash + 1) };
  } else {
    const ref = object(value);
    if (typeof ref.name === 'string' && ref.name && typeof ref.key === 'string' && ref.key)
      return { name: ref.name, key: ref.key };
  }
  throw new JobManifestError(
    `job variable envFromSecrets.${name} must be { "name": "<secret>", "key": "<key>" } or "<secret>/<key>"`,
  );
}

function positiveInt(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new JobManifestError(`job variable "${what}" must be a positive whole number`);
  }
  return value;
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') throw new JobManifestError(`job variable "${what}" must be a non-empty string`);
  return value;
}

/** Quantities a run's hardware request adds to the container: GPUs as `nvidia.com/gpu` limits. */
function resourcesFromRun(resources: RunResources | null | undefined): {
  requests: Record<string, string>;
  limits: Record<string, string>;
} {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  const gpus = resources?.gpus;
  if (typeof gpus === 'number' && Number.isInteger(gpus) && gpus > 0) limits['nvidia.com/gpu'] = String(gpus);
  const memoryGb = resources?.memoryGb;
  if (typeof memoryGb === 'number' && memoryGb > 0) {
    const mi = `${Math.ceil(memoryGb * 1024)}Mi`;
    requests.memory = mi;
    limits.memory = mi;
  }
  const cpus = resources?.cpus;
  if (typeof cpus === 'number' && cpus > 0) requests.cpu = `${Math.ceil(cpus * 1000)}m`;
  return { requests, limits };
}

/** The namespace an attempt's Job goes to: the job variables', else the template's, else the worker's. */
export function namespaceOf(input: Pick<ManifestInput, 'namespace' | 'template' | 'jobVariables'>): string {
  const fromVariables = optionalString(input.jobVariables.namespace, 'namespace');
  return fromVariables ?? templateNamespace(input.template) ?? input.namespace;
}

function templateNamespace(template: KubeObject): string | undefined {
  const fromTemplate = object(template.metadata).namespace;
  return typeof fromTemplate === 'string' && fromTemplate ? fromTemplate : undefined;
}

/** Job variable labels or annotations: each key the template's with the same value, or one the worker allows. */
function boundedMetadata(
  value: unknown,
  what: 'labels' | 'annotations',
  template: Record<string, string>,
  allowed: readonly string[],
): Record<string, string> {
  const map = stringMap(value, what);
  for (const [key, item] of Object.entries(map)) {
    if (template[key] !== item && !isKeyAllowed(key, allowed)) {
      outOfBounds(
        `${what}.${key}`,
        item,
        `a run's pod carries the template's ${what} only (${what === 'labels' ? 'a label can put a pod behind a Service or NetworkPolicy' : 'an annotation can change what admission and the node do with a pod'})`,
        what === 'labels' ? 'podLabels' : 'podAnnotations',
      );
    }
  }
  return map;
}

/** Every request and limit within the template's limit of the same resource, when it sets one. */
function checkCeilings(
  ceilings: Record<string, string>,
  quantities: { requests: Record<string, string>; limits: Record<string, string> },
): void {
  for (const [name, ceiling] of Object.entries(ceilings)) {
    const bound = quantityValue(ceiling);
    if (bound === null) continue;
    for (const kind of ['requests', 'limits'] as const) {
      const asked = quantities[kind][name];
      if (asked === undefined || asked === ceiling) continue;
      const value = quantityValue(asked);
      if (value === null || value > bound) {
        outOfBounds(
          `resources.${kind}.${name}`,
          asked,
          `the base job template limits ${name} to ${ceiling} (a job variable or the run's hardware request asked for more)`,
        );
      }
    }
  }
}

/**
 * The checks on the finished Job, whatever its template and variables: the pod policy
 * (pod-policy.ts), no container the template does not have, and never the worker's own
 * ServiceAccount. Job variables add no container and no privilege, so the first two stand against
 * a mis-written template and a change to this file; the third also against the worker's own account
 * listed in `--allow-service-account` by mistake.
 */
function checkFinalPod(
  job: { metadata: Record<string, unknown>; spec: Record<string, unknown> },
  templatePodSpec: Record<string, unknown>,
  ownServiceAccount: ManifestInput['ownServiceAccount'],
): void {
  const [problem] = podTemplateProblems(job.spec.template);
  if (problem) {
    throw new JobManifestError(
      `the Job would set ${problem.path}, which is refused: ${problem.message}; fix the base job template`,
    );
  }
  const podSpec = object(object(job.spec.template).spec);
  const built = containerNames(podSpec);
  const own = containerNames(templatePodSpec);
  for (const kind of CONTAINER_LISTS) {
    // The first container is the flow's: it is named `flow` when the template leaves it unnamed.
    const compared = kind === 'containers' ? (names: string[]) => names.slice(1) : (names: string[]) => names;
    if (built[kind].length !== own[kind].length || !isDeepStrictEqual(compared(built[kind]), compared(own[kind]))) {
      throw new JobManifestError(
        `the Job's ${kind} are not the base job template's: a run's pod has only the template's containers`,
      );
    }
  }
  // A pod without one runs as its namespace's `default`, which is the worker's own when the worker runs as that.
  const account = podSpec.serviceAccountName ?? podSpec.serviceAccount ?? 'default';
  if (ownServiceAccount && job.metadata.namespace === ownServiceAccount.namespace && account === ownServiceAccount.name) {
    throw new JobManifestError(
      `the Job would run as ServiceAccount "${ownServiceAccount.name}", which is the worker's own: a run's pod holding the worker's Role could create Jobs outside these bounds; give runs another service account (the base job template's serviceAccountName)`,
    );
  }
}

/**
 * The Job for one attempt. The template gives the shape (its first container runs the flow); the
 * job variables add image, resources, placement, env and metadata within the worker's bounds; the
 * worker's own fields (name, labels, `backoffLimit: 0`, `restartPolicy: Never`, the pod runner's
 * command and relay variables) override both, so no template or variable can make an attempt
 * retry itself or talk to anything but its worker. Throws `JobManifestError`, naming the variable
 * and the flag that would allow it, for anything outside the bounds.
 */
export function buildJobManifest(input: ManifestInput): KubeObject {
  const vars = input.jobVariables;
  const bounds = input.bounds ?? TEMPLATE_ONLY;
  const template = structuredClone(input.template);
  const metadata = object(template.metadata);
  const spec = object(template.spec);
  const podTemplate = object(spec.template);
  const podMetadata = object(podTemplate.metadata);
  const podSpec = object(podTemplate.spec);
  const containers = Array.isArray(podSpec.containers) ? (podSpec.containers as Record<string, unknown>[]) : [];
  const container = object(containers[0]);
  const ownLabels = attemptLabels(input);

  const templatePodLabels = stringMap(podMetadata.labels, 'template pod labels');
  const templatePodAnnotations = stringMap(podMetadata.annotations, 'template pod annotations');
  const variableLabels = boundedMetadata(vars.labels, 'labels', templatePodLabels, bounds.podLabels);
  const variableAnnotations = boundedMetadata(vars.annotations, 'annotations', templatePodAnnotations, bounds.podAnnotations);
  const labels = { ...stringMap(metadata.labels, 'template labels'), ...variableLabels, ...ownLabels };
  const annotations = { ...stringMap(metadata.annotations, 'template annotations'), ...variableAnnotations };
  const podLabels = { ...templatePodLabels, ...variableLabels, ...ownLabels };
  const podAnnotations = { ...templatePodAnnotations, ...variableAnnotations };

  // Resources: the template's, then the job variables', then what the run itself asks for.
  const templateResources = object(container.resources);
  const variableResources = object(vars.resources);
  if (
    vars.resources !== undefined &&
    vars.resources !== null &&
    (typeof vars.resources !== 'object' || Array.isArray(vars.resources))
  ) {
    throw new JobManifestError('job variable "resources" must be an object with "requests" and/or "limits"');
  }
  const fromRun = resourcesFromRun(input.resources);
  const templateLimits = quantityMap(templateResources.limits, 'template resources.limits');
  const requests = {
    ...quantityMap(templateResources.requests, 'template resources.requests'),
    ...quantityMap(variableResources.requests, 'resources.requests'),
    ...fromRun.requests,
  };
  const limits = {
    ...templateLimits,
    ...quantityMap(variableResources.limits, 'resources.limits'),
    ...fromRun.limits,
  };
  // A request above its limit is refused by the API server; the run's own request raises the limit too.
  for (const [name, value] of Object.entries(fromRun.requests))
    if (limits[name] !== undefined && name !== 'cpu') limits[name] = value;
  // The template's limits are the most a run may get: capacity beyond them is the operator's to give.
  checkCeilings(templateLimits, { requests, limits });

  // Environment: the worker's OpenTelemetry settings, the template's, plain job values, Secret references; then the worker's own.
  const env = new Map<string, Record<string, unknown>>();
  for (const [name, value] of Object.entries(input.otelEnv ?? {})) if (ENV_NAME.test(name)) env.set(name, { name, value });
  for (const entry of Array.isArray(container.env) ? (container.env as Record<string, unknown>[]) : []) {
    if (typeof entry.name === 'string') env.set(entry.name, entry);
  }
  const plainEnv = vars.env;
  if (plainEnv !== undefined && plainEnv !== null && (typeof plainEnv !== 'object' || Array.isArray(plainEnv))) {
    throw new JobManifestError('job variable "env" must be an object of variable names to values');
  }
  for (const [name, value] of Object.entries(object(plainEnv))) {
    if (!ENV_NAME.test(name)) throw new JobManifestError(`job variable env.${name} is not a valid variable name`);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      env.set(name, { name, value: String(value) });
    }
    // `{ $secret }` values are resolved by the worker and handed to the flow over the relay, never written into the pod spec.
  }
  const fromSecrets = vars.envFromSecrets;
  if (fromSecrets !== undefined && fromSecrets !== null && (typeof fromSecrets !== 'object' || Array.isArray(fromSecrets))) {
    throw new JobManifestError('job variable "envFromSecrets" must be an object of variable names to Secret references');
  }
  for (const [name, value] of Object.entries(object(fromSecrets))) {
    if (!ENV_NAME.test(name)) throw new JobManifestError(`job variable envFromSecrets.${name} is not a valid variable name`);
    const ref = secretRefOf(name, value);
    // Any pod of the namespace may name any of its Secrets; the worker decides which ones runs may.
    if (!bounds.secrets.includes(ref.name)) {
      outOfBounds(`envFromSecrets.${name}`, value, `a run's pod reads only the Secrets the worker lists`, 'secrets');
    }
    env.set(name, { name, valueFrom: { secretKeyRef: ref } });
  }
  for (const name of [...env.keys()]) if (name.startsWith('OUTPOST_')) env.delete(name);
  env.set('OUTPOST_RELAY_ADDRESS', { name: 'OUTPOST_RELAY_ADDRESS', value: input.relayAddress });
  const fromRelaySecret = (key: string) => ({ secretKeyRef: { name: input.relaySecret, key } });
  env.set('OUTPOST_RELAY_TOKEN', { name: 'OUTPOST_RELAY_TOKEN', valueFrom: fromRelaySecret(RELAY_SECRET_KEYS.token) });
  env.set('OUTPOST_RELAY_PIN', { name: 'OUTPOST_RELAY_PIN', valueFrom: fromRelaySecret(RELAY_SECRET_KEYS.pin) });
  env.set('OUTPOST_RUN_ID', { name: 'OUTPOST_RUN_ID', value: input.runId });
  env.set('OUTPOST_RUN_ATTEMPT', { name: 'OUTPOST_RUN_ATTEMPT', value: String(input.attempt) });

  const templateImage = typeof container.image === 'string' && container.image ? container.image : undefined;
  const variableImage = optionalString(vars.image, 'image');
  if (variableImage !== undefined && variableImage !== templateImage && !isImageAllowed(variableImage, bounds.images)) {
    outOfBounds(
      'image',
      variableImage,
      `a run's pod runs the base job template's image${templateImage ? ` (${templateImage})` : ''}`,
      'images',
    );
  }
  const image = variableImage ?? templateImage;
  if (!image) throw new JobManifestError('no image: set job variable "image" or an image in the base job template');

  const flowContainer: Record<string, unknown> = {
    ...container,
    name: typeof container.name === 'string' && container.name ? container.name : FLOW_CONTAINER,
    image,
    command: input.command,
    env: [...env.values()],
  };
  delete flowContainer.args;
  // A template that says nothing of privileges gets none: no escalation, no capabilities, seccomp on, not root.
  if (flowContainer.securityContext === undefined || flowContainer.securityContext === null)
    flowContainer.securityContext = structuredClone(DEFAULT_FLOW_SECURITY_CONTEXT);
  if (Object.keys(requests).length > 0 || Object.keys(limits).length > 0) {
    flowContainer.resources = {
      ...(Object.keys(requests).length > 0 ? { requests } : {}),
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
    };
  } else delete flowContainer.resources;

  const newPodSpec: Record<string, unknown> = {
    ...podSpec,
    restartPolicy: 'Never',
    containers: [flowContainer, ...containers.slice(1)],
  };
  // Node selectors only narrow where a pod may go: a job variable may add one, never change the template's.
  const templateSelector = stringMap(podSpec.nodeSelector, 'template nodeSelector');
  const variableSelector = stringMap(vars.nodeSelector, 'nodeSelector');
  for (const [key, value] of Object.entries(variableSelector)) {
    if (templateSelector[key] !== undefined && templateSelector[key] !== value) {
      outOfBounds(
        `nodeSelector.${key}`,
        value,
        `the base job template selects ${key}=${templateSelector[key]}, which job variables may not change`,
      );
    }
  }
  const nodeSelector = { ...templateSelector, ...variableSelector };
  if (Object.keys(nodeSelector).length > 0) newPodSpec.nodeSelector = nodeSelector;
  if (vars.tolerations !== undefined && vars.tolerations !== null) {
    if (!Array.isArray(vars.tolerations) || vars.tolerations.some((t) => !t || typeof t !== 'object' || Array.isArray(t))) {
      throw new JobManifestError('job variable "tolerations" must be a list of toleration objects');
    }
    const templateTolerations = Array.isArray(podSpec.tolerations) ? podSpec.tolerations : [];
    (vars.tolerations as Record<string, unknown>[]).forEach((toleration, i) => {
      if (templateTolerations.some((t) => isDeepStrictEqual(t, toleration))) return;
      // A toleration without a key tolerates every taint, the control plane's nodes' included.
      if (typeof toleration.key !== 'string' || toleration.key === '') {
        outOfBounds(`tolerations[${i}]`, toleration, 'a toleration from job variables names the key of the taint it tolerates');
      }
      if (!bounds.tolerations.includes(toleration.key)) {
        outOfBounds(`tolerations[${i}]`, toleration, `a run's pod tolerates only the template's taints`, 'tolerations');
      }
    });
    newPodSpec.tolerations = [...templateTolerations, ...vars.tolerations];
  }
  const serviceAccountName = optionalString(vars.serviceAccountName, 'serviceAccountName');
  if (serviceAccountName) {
    const templateAccount = podSpec.serviceAccountName ?? podSpec.serviceAccount;
    if (serviceAccountName !== templateAccount && !bounds.serviceAccounts.includes(serviceAccountName)) {
      outOfBounds(
        'serviceAccountName',
        serviceAccountName,
        `a run's pod runs as the base job template's service account (${typeof templateAccount === 'string' ? templateAccount : "the namespace's default"})`,
        'serviceAccounts',
      );
    }
    newPodSpec.serviceAccountName = serviceAccountName;
    delete newPodSpec.serviceAccount;
  }

  const newSpec: Record<string, unknown> = {
    ...spec,
    backoffLimit: 0,
    template: {
      metadata: {
        ...podMetadata,
        labels: podLabels,
        ...(Object.keys(podAnnotations).length > 0 ? { annotations: podAnnotations } : {}),
      },
      spec: newPodSpec,
    },
  };
  // Job-level selectors are the Job controller's to generate.
  delete newSpec.selector;
  delete newSpec.manualSelector;
  const deadline = positiveInt(vars.activeDeadlineSeconds, 'activeDeadlineSeconds');
  if (deadline !== undefined) {
    const templateDeadline = spec.activeDeadlineSeconds;
    if (typeof templateDeadline === 'number' && deadline > templateDeadline) {
      outOfBounds(
        'activeDeadlineSeconds',
        deadline,
        `the base job template's activeDeadlineSeconds (${templateDeadline}) is the longest a run may ask for`,
      );
    }
    newSpec.activeDeadlineSeconds = deadline;
  }
  if (spec.ttlSecondsAfterFinished === undefined || spec.ttlSecondsAfterFinished === null) delete newSpec.ttlSecondsAfterFinished;

  const namespace = namespaceOf(input);
  const allowedNamespaces = [input.namespace, templateNamespace(input.template), ...bounds.namespaces];
  if (vars.namespace !== undefined && vars.namespace !== null && !allowedNamespaces.includes(namespace)) {
    outOfBounds(
      'namespace',
      namespace,
      `Jobs go to the worker's namespace (${templateNamespace(input.template) ?? input.namespace})`,
      'namespaces',
    );
  }
  const newMetadata: Record<string, unknown> = {
    ...metadata,
    name: jobName(input.runId, input.attempt),
    namespace,
    labels,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  if (Object.keys(annotations).length === 0) delete newMetadata.annotations;
  delete newMetadata.generateName;
  checkFinalPod({ metadata: newMetadata, spec: newSpec }, podSpec, input.ownServiceAccount);
  return { ...template, apiVersion: 'batch/v1', kind: 'Job', metadata: newMetadata, spec: newSpec };
}

/** Whether the template leaves finished Jobs to the TTL controller (otherwise the executor deletes them). */
export function hasTtl(manifest: KubeObject): boolean {
  const ttl = object(manifest.spec).ttlSecondsAfterFinished;
  return typeof ttl === 'number';
}
