import { createHash } from 'node:crypto';
import type { ExternalJob, ExternalJobStatus } from './external-job.js';
import { type GoogleAuthOptions, googleAccessToken } from './google-auth.js';
import { IntegrationError, restClient, serviceUrl } from './rest.js';

/*
 * Vertex AI custom jobs over the REST API (v1): create a job (`customJobs.create`), watch it
 * (`customJobs.get`), cancel it (`customJobs.cancel`). The create call has no request id, so a
 * start labels its job with a hash of the idempotency key and first lists the location's jobs with
 * that label (following every page): a start sent again finds the job instead of making a second.
 *
 * Written from the Vertex AI REST reference; tested against a stand-in that follows it (and a token
 * endpoint that verifies the service account's signed assertion), not against Google Cloud.
 */

export interface VertexOptions extends GoogleAuthOptions {
  /** @default process.env.GOOGLE_CLOUD_PROJECT */
  project?: string;
  /** @default process.env.GOOGLE_CLOUD_LOCATION, or us-central1 */
  location?: string;
  /** Another endpoint (Private Service Connect, a test server). @default VERTEX_AI_ENDPOINT, or https://<location>-aiplatform.googleapis.com */
  endpoint?: string;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /** @default 3 */
  retries?: number;
  /** @default 500 */
  retryDelayMs?: number;
}

/** A CustomJob as `customJobs.create` takes it. */
export interface CustomJobInput {
  displayName: string;
  /** `workerPoolSpecs` (machine, accelerators, container or Python package), `baseOutputDirectory`, `serviceAccount`… */
  jobSpec: Record<string, unknown>;
  labels?: Record<string, string>;
  encryptionSpec?: Record<string, unknown>;
}

export interface CustomJobHandle {
  /** `projects/<number>/locations/<location>/customJobs/<id>` */
  name: string;
}

export interface CustomJobResult {
  name: string;
  state: string;
  startTime: string | null;
  endTime: string | null;
  /** Where the job wrote its outputs, from `jobSpec.baseOutputDirectory`. */
  outputUriPrefix: string | null;
}

interface CustomJobWire {
  name?: string;
  state?: string;
  error?: { code?: number; message?: string };
  startTime?: string;
  endTime?: string;
  jobSpec?: { baseOutputDirectory?: { outputUriPrefix?: string } };
  labels?: Record<string, string>;
}

/** The label a start puts on its job: a hash of the idempotency key (label values: lowercase, at most 63). */
export const IDEMPOTENCY_LABEL = 'outpost-key';

const ACTIVE = new Set([
  'JOB_STATE_QUEUED',
  'JOB_STATE_PENDING',
  'JOB_STATE_RUNNING',
  'JOB_STATE_CANCELLING',
  'JOB_STATE_PAUSED',
  'JOB_STATE_UPDATING',
]);

/** Maps a CustomJob's `state` onto an external job's status. */
export function customJobStatus(job: CustomJobWire): ExternalJobStatus<CustomJobResult> {
  const state = job.state ?? 'JOB_STATE_UNSPECIFIED';
  const shown = state.replace(/^JOB_STATE_/, '');
  if (ACTIVE.has(state)) return { state: 'running', message: shown };
  if (state === 'JOB_STATE_SUCCEEDED') {
    return {
      state: 'succeeded',
      message: shown,
      result: {
        name: job.name ?? '',
        state,
        startTime: job.startTime ?? null,
        endTime: job.endTime ?? null,
        outputUriPrefix: job.jobSpec?.baseOutputDirectory?.outputUriPrefix ?? null,
      },
    };
  }
  if (state === 'JOB_STATE_CANCELLED') return { state: 'cancelled', message: job.error?.message ?? shown };
  return { state: 'failed', message: job.error?.message ? `${shown}: ${job.error.message}` : shown };
}

/** Vertex AI in one project and location, with the worker's Google credentials. */
export function vertexAI(options: VertexOptions = {}) {
  const env = options.env ?? process.env;
  const project = options.project ?? env.GOOGLE_CLOUD_PROJECT;
  if (!project) throw new IntegrationError('set GOOGLE_CLOUD_PROJECT on the worker, or pass project', null, null);
  const location = options.location ?? env.GOOGLE_CLOUD_LOCATION ?? 'us-central1';
  const base = serviceUrl(
    options.endpoint ?? env.VERTEX_AI_ENDPOINT ?? `https://${location}-aiplatform.googleapis.com`,
    'VERTEX_AI_ENDPOINT',
    'GOOGLE_APPLICATION_CREDENTIALS',
  );
  const token = googleAccessToken(options);
  const call = restClient({
    service: 'Vertex AI',
    root: `${base.href.replace(/\/+$/, '')}/v1`,
    authorization: async () => `Bearer ${await token()}`,
    credentialHint: 'GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_OAUTH_ACCESS_TOKEN) and the service account’s Vertex AI role',
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
  });
  const parent = `projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}`;

  const getCustomJob = (name: string, signal?: AbortSignal) => call<CustomJobWire>('GET', name, null, true, signal);
  const cancelCustomJob = async (name: string): Promise<void> => {
    await call('POST', `${name}:cancel`, {}, true);
  };

  /** The location's job carrying the label `value`, if any, through every page of the list. */
  async function findLabelled(value: string, signal?: AbortSignal): Promise<CustomJobWire | null> {
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({ filter: `labels.${IDEMPOTENCY_LABEL}="${value}"`, pageSize: '100' });
      if (pageToken) query.set('pageToken', pageToken);
      const page = await call<{ customJobs?: CustomJobWire[]; nextPageToken?: string }>(
        'GET',
        `${parent}/customJobs?${query}`,
        null,
        true,
        signal,
      );
      const found = (page.customJobs ?? []).find((job) => job.labels?.[IDEMPOTENCY_LABEL] === value);
      if (found) return found;
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return null;
  }

  const customJob: ExternalJob<CustomJobInput, CustomJobHandle, CustomJobResult> = {
    kind: 'Vertex AI custom job',
    async start(input, ctx) {
      const key = createHash('sha256').update(ctx.idempotencyKey).digest('hex').slice(0, 40);
      const existing = await findLabelled(key, ctx.signal);
      if (existing?.name) return { name: existing.name };
      const body = { ...input, labels: { ...input.labels, [IDEMPOTENCY_LABEL]: key } };
      try {
        const created = await call<CustomJobWire>('POST', `${parent}/customJobs`, body, false, ctx.signal);
        if (!created.name) throw new IntegrationError('Vertex AI created a custom job but did not name it', 200, null);
        return { name: created.name };
      } catch (error) {
        // No answer: the job may exist all the same. Look for it before giving up.
        if (!(error instanceof IntegrationError && error.status === null)) throw error;
        const made = await findLabelled(key, ctx.signal);
        if (made?.name) return { name: made.name };
        throw error;
      }
    },
    poll: async (handle, ctx) => customJobStatus(await getCustomJob(handle.name, ctx.signal)),
    cancel: (handle) => cancelCustomJob(handle.name),
    link: (handle) => {
      const id = handle.name.split('/').pop() ?? '';
      return `https://console.cloud.google.com/vertex-ai/locations/${location}/training/${id}?project=${encodeURIComponent(project)}`;
    },
  };

  return { customJob, getCustomJob, cancelCustomJob };
}

export type VertexAI = ReturnType<typeof vertexAI>;
