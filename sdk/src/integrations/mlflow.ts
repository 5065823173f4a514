import { setTimeout as sleep } from 'node:timers/promises';
import type { AssetContext } from '../assets/asset.js';
import { artifact } from '../runtime/artifacts.js';
import { currentScope } from '../runtime/context.js';
import { log } from '../runtime/logger.js';
import { IntegrationError, restClient, serviceUrl } from './rest.js';

/*
 * The MLflow Model Registry over its REST API (2.0): register a model version from where a flow put
 * the model in your storage, tagged with the Outpost run and asset that produced it. It runs where
 * the flow runs, with credentials from the worker's environment: the control plane sees the link
 * artifact and the metadata it adds, never the tracking server's credentials.
 *
 * Written from MLflow's REST API reference (registered-models/create, model-versions/create,
 * model-versions/get, registered-models/alias; errors as `{ error_code, message }`). It is tested
 * against a stand-in that follows that reference, not against a real MLflow server.
 */

export interface MlflowRegistryOptions {
  /** The tracking server, e.g. `https://mlflow.internal`. @default process.env.MLFLOW_TRACKING_URI */
  trackingUri?: string;
  /** Sent as `Authorization: Bearer …`. @default process.env.MLFLOW_TRACKING_TOKEN */
  token?: string;
  /** Basic authentication, when there is no token. @default process.env.MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD */
  username?: string;
  password?: string;
  /** Each request's time limit. @default 30000 */
  requestTimeoutMs?: number;
  /** Further tries of a request the server refused for now (429, 503) or, where repeating it is harmless, that failed on the way. @default 3 */
  retries?: number;
  /** The first wait before a retry, doubled each time; a `Retry-After` answer wins. @default 500 */
  retryDelayMs?: number;
  /** Where to read the defaults. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface RegisterModelVersionInput {
  /** The registered model; created when it does not exist yet. */
  name: string;
  /** Where the model's files are, in your storage (`s3://…`, `gs://…`, `runs:/…`, `models:/…`, a path). */
  source: string;
  /** The MLflow run that trained it. */
  runId?: string;
  /** A link to that run, possibly on another MLflow server. */
  runLink?: string;
  description?: string;
  /** Tags of the new version, next to the lineage tags. */
  tags?: Record<string, string>;
  /**
   * The asset whose value this model is: its key, code version and partition go into the lineage
   * tags, and the version's name and number into its materialisation's metadata.
   */
  asset?: AssetContext;
  /** Add `outpost.*` tags naming the run (id, name, flow, deployment, attempt), task and asset. @default true */
  lineage?: boolean;
  /** Point this alias of the registered model (`champion`) at the new version once it is READY. */
  alias?: string;
  /** How long the version may stay PENDING_REGISTRATION. @default 300000 */
  readyTimeoutMs?: number;
  /** How often its status is read while it is pending. @default 1000 */
  pollIntervalMs?: number;
  /** Stops waiting (and retrying) when it fires. @default the run's signal */
  signal?: AbortSignal;
}

export interface RegisteredModelVersion {
  name: string;
  version: string;
  status: 'READY';
  source: string;
  /** The version's page on the tracking server. */
  url: string;
  tags: Record<string, string>;
}

interface ModelVersionWire {
  name?: string;
  version?: string;
  source?: string;
  status?: string;
  status_message?: string;
  tags?: { key: string; value: string }[];
}

/** Tags MLflow stores: keys up to 250 characters, values up to 5,000 (its documented limits). */
const MAX_TAG_KEY = 250;
const MAX_TAG_VALUE = 5000;

function lineageTags(input: RegisterModelVersionInput): Record<string, string> {
  const { run, task } = currentScope();
  const context = run?.context;
  const tags: Record<string, string> = {};
  if (context) {
    tags['outpost.run_id'] = context.runId;
    tags['outpost.run_name'] = context.runName;
    tags['outpost.flow'] = context.flowName;
    tags['outpost.attempt'] = String(context.attempt);
    if (context.deploymentName) tags['outpost.deployment'] = context.deploymentName;
  }
  if (task) tags['outpost.task'] = task.taskKey;
  const asset = input.asset;
  if (asset) {
    tags['outpost.asset_key'] = asset.assetKey;
    tags['outpost.code_version'] = asset.codeVersion;
    if (asset.partitionRange) tags['outpost.partition_range'] = `${asset.partitionRange.start}..${asset.partitionRange.end}`;
    else if (asset.partition) tags['outpost.partition'] = asset.partition.key;
  }
  return tags;
}

function checkTags(tags: Record<string, string>): { key: string; value: string }[] {
  return Object.entries(tags).map(([key, value]) => {
    if (key.length === 0 || key.length > MAX_TAG_KEY)
      throw new RangeError(`MLflow tag keys are 1 to ${MAX_TAG_KEY} characters: ${JSON.stringify(key.slice(0, 60))}`);
    if (typeof value !== 'string' || value.length > MAX_TAG_VALUE) {
      throw new RangeError(`MLflow tag "${key}" needs a string of at most ${MAX_TAG_VALUE} characters`);
    }
    return { key, value };
  });
}

/**
 * A client of one tracking server's model registry. Credentials come from the options or the
 * environment of the process that calls it (the flow, on the worker), and never appear in an error.
 */
export function mlflowRegistry(options: MlflowRegistryOptions = {}) {
  const env = options.env ?? process.env;
  const base = serviceUrl(
    options.trackingUri ?? env.MLFLOW_TRACKING_URI,
    'MLFLOW_TRACKING_URI',
    'MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD',
  );
  const root = base.href.replace(/\/+$/, '');
  const token = options.token ?? env.MLFLOW_TRACKING_TOKEN;
  const username = options.username ?? env.MLFLOW_TRACKING_USERNAME;
  const password = options.password ?? env.MLFLOW_TRACKING_PASSWORD ?? '';
  const call = restClient({
    service: 'MLflow',
    root: `${root}/api/2.0/mlflow`,
    authorization: token
      ? `Bearer ${token}`
      : username
        ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
        : null,
    credentialHint: 'MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME/PASSWORD)',
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
  });

  async function getModelVersion(name: string, version: string, signal?: AbortSignal): Promise<ModelVersionWire> {
    const query = new URLSearchParams({ name, version });
    const { model_version } = await call<{ model_version?: ModelVersionWire }>(
      'GET',
      `model-versions/get?${query}`,
      null,
      true,
      signal,
    );
    if (!model_version) throw new IntegrationError(`MLflow returned no model_version for ${name} version ${version}`, 200, null);
    return model_version;
  }

  /**
   * Registers `source` as a new version of the registered model `name` (creating the model if it is
   * new), waits until MLflow says READY, optionally points an alias at it, and — inside a run —
   * publishes a link artifact to the version and, with `asset`, adds `mlflowModel`, `mlflowVersion`
   * and `registered.mlflow` ({ name, version, uri, url }: the lineage document's registration) to
   * the materialisation's metadata.
   */
  async function registerModelVersion(input: RegisterModelVersionInput): Promise<RegisteredModelVersion> {
    if (!input.name?.trim()) throw new RangeError('registerModelVersion needs the registered model name');
    if (!input.source?.trim()) throw new RangeError('registerModelVersion needs the source: where the model files are');
    const { run, task } = currentScope();
    const signal = input.signal ?? input.asset?.signal ?? task?.signal ?? run?.signal;
    const tags = { ...(input.lineage === false ? {} : lineageTags(input)), ...input.tags };
    const wireTags = checkTags(tags);

    try {
      await call('POST', 'registered-models/create', { name: input.name }, true, signal);
    } catch (error) {
      if (!(error instanceof IntegrationError && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
    }
    const created = await call<{ model_version?: ModelVersionWire }>(
      'POST',
      'model-versions/create',
      {
        name: input.name,
        source: input.source,
        ...(input.runId ? { run_id: input.runId } : {}),
        ...(input.runLink ? { run_link: input.runLink } : {}),
        ...(input.description ? { description: input.description } : {}),
        tags: wireTags,
      },
      false,
      signal,
    );
    let current = created.model_version;
    if (!current?.version)
      throw new IntegrationError(`MLflow created a version of ${input.name} but did not say its number`, 200, null);
    const version = String(current.version);
    const deadline = Date.now() + (input.readyTimeoutMs ?? 300_000);
    while (current.status === 'PENDING_REGISTRATION') {
      if (Date.now() >= deadline) {
        throw new IntegrationError(
          `${input.name} version ${version} is still PENDING_REGISTRATION after ${input.readyTimeoutMs ?? 300_000} ms`,
          null,
          null,
        );
      }
      await sleep(input.pollIntervalMs ?? 1000, undefined, signal ? { signal } : undefined);
      current = await getModelVersion(input.name, version, signal);
    }
    if (current.status !== 'READY') {
      throw new IntegrationError(
        `${input.name} version ${version} is ${current.status ?? 'in no state'}${current.status_message ? `: ${current.status_message}` : ''}`,
        null,
        null,
      );
    }
    if (input.alias) {
      await call('POST', 'registered-models/alias', { name: input.name, alias: input.alias, version }, true, signal);
    }

    const url = `${root}/#/models/${encodeURIComponent(input.name)}/versions/${encodeURIComponent(version)}`;
    const registered: RegisteredModelVersion = { name: input.name, version, status: 'READY', source: input.source, url, tags };
    if (run) {
      const key = `mlflow-${
        input.name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '') || 'model'
      }`;
      await artifact.link(key, url, `${input.name} version ${version}${input.alias ? ` (${input.alias})` : ''}`, {
        description: 'registered in MLflow',
      });
    }
    input.asset?.addMetadata({
      mlflowModel: input.name,
      mlflowVersion: version,
      ...(input.alias ? { mlflowAlias: input.alias } : {}),
      // The well-known shape the control plane's lineage document lists as a registration.
      'registered.mlflow': { name: input.name, version, uri: `models:/${input.name}/${version}`, url },
    });
    (input.asset?.log ?? log).info(`registered ${input.name} version ${version} in MLflow at ${base.host}`);
    return registered;
  }

  return { registerModelVersion, getModelVersion };
}

export type MlflowRegistry = ReturnType<typeof mlflowRegistry>;
