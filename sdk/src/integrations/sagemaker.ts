import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsClient } from 'aws4fetch';
import type { AssetContext } from '../assets/asset.js';
import { artifact } from '../runtime/artifacts.js';
import { currentScope } from '../runtime/context.js';
import { describeError, toError } from '../runtime/errors.js';
import { log } from '../runtime/logger.js';
import { type S3CredentialSource, type S3Credentials, s3Credentials, s3RegionFromEnv } from '../runtime/s3-client.js';
import type { ExternalJob, ExternalJobStatus } from './external-job.js';
import { IntegrationError, serviceUrl } from './rest.js';

/*
 * Amazon SageMaker training jobs and model registry, over SageMaker's JSON API (the `X-Amz-Target`
 * protocol), signed with Signature V4 by aws4fetch, like the SDK's S3 client: the official
 * @aws-sdk/client-sagemaker would put megabytes into every flow bundle for four calls. Credentials
 * are found as every AWS SDK finds them, on the worker.
 *
 * Written from the SageMaker API reference (CreateTrainingJob, DescribeTrainingJob,
 * StopTrainingJob, CreateModelPackageGroup, CreateModelPackage); tested against a stand-in that
 * follows it, not against AWS.
 */

export interface SageMakerOptions {
  /** @default AWS_REGION, AWS_DEFAULT_REGION, or us-east-1 */
  region?: string;
  /** Another endpoint (a VPC endpoint, a test server). @default AWS_ENDPOINT_URL_SAGEMAKER, or AWS's for the region */
  endpoint?: string;
  /** @default the standard chain: AWS_ACCESS_KEY_ID…, a profile, web identity, container or instance metadata */
  credentials?: S3Credentials;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /** Retries of throttling, 5xx and, for calls safe to repeat, network failures. @default 3 */
  retries?: number;
  /** @default 500 */
  retryDelayMs?: number;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A training job's configuration, as CreateTrainingJob takes it (without its name, which is derived). */
export interface TrainingJobInput {
  /** Up to 30 characters of the job's name; the rest identifies the task attempt. */
  namePrefix: string;
  AlgorithmSpecification: Record<string, unknown>;
  RoleArn: string;
  OutputDataConfig: { S3OutputPath: string; KmsKeyId?: string };
  ResourceConfig: Record<string, unknown>;
  StoppingCondition: Record<string, unknown>;
  InputDataConfig?: Record<string, unknown>[];
  HyperParameters?: Record<string, string>;
  Environment?: Record<string, string>;
  Tags?: { Key: string; Value: string }[];
  [field: string]: unknown;
}

export interface TrainingJobHandle {
  name: string;
  region: string;
}

export interface TrainingJobResult {
  name: string;
  arn: string;
  /** Where SageMaker put the model: `s3://…/model.tar.gz`. */
  modelArtifacts: string | null;
  /** The final value of each metric the algorithm reported. */
  metrics: Record<string, number>;
  billableSeconds: number | null;
}

export interface RegisterModelPackageInput {
  /** The model package group; created when it does not exist. */
  group: string;
  /** The inference image and where the model is (`ModelDataUrl`, usually a training job's artifacts). */
  image: string;
  modelDataUrl: string;
  /** @default 'PendingManualApproval' */
  approvalStatus?: 'Approved' | 'Rejected' | 'PendingManualApproval';
  description?: string;
  contentTypes?: string[];
  responseTypes?: string[];
  /** With `asset`, its key, code version and partition go into the package's metadata, and the ARN into the materialisation's. */
  asset?: AssetContext;
  /** More `CustomerMetadataProperties`, next to the `outpost.*` lineage ones. */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

interface TrainingJobWire {
  TrainingJobName?: string;
  TrainingJobArn?: string;
  TrainingJobStatus?: string;
  SecondaryStatus?: string;
  FailureReason?: string;
  ModelArtifacts?: { S3ModelArtifacts?: string };
  FinalMetricDataList?: { MetricName?: string; Value?: number }[];
  BillableTimeInSeconds?: number;
}

/** Codes of answers that say "not now" rather than "no". */
const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'RequestLimitExceeded', 'ServiceUnavailable', 'InternalFailure']);

/** A training job's name from a prefix and the idempotency key: the same key, the same name. */
export function trainingJobName(prefix: string, idempotencyKey: string): string {
  const clean =
    prefix
      .replace(/[^a-zA-Z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 30) || 'outpost';
  return `${clean}-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;
}

/** Maps DescribeTrainingJob onto an external job's status. */
export function trainingJobStatus(job: TrainingJobWire): ExternalJobStatus<TrainingJobResult> {
  const status = job.TrainingJobStatus ?? 'Unknown';
  const secondary = job.SecondaryStatus ? ` (${job.SecondaryStatus})` : '';
  switch (status) {
    case 'InProgress':
    case 'Stopping':
      return { state: 'running', message: `${status}${secondary}` };
    case 'Completed':
      return {
        state: 'succeeded',
        message: status,
        result: {
          name: job.TrainingJobName ?? '',
          arn: job.TrainingJobArn ?? '',
          modelArtifacts: job.ModelArtifacts?.S3ModelArtifacts ?? null,
          metrics: Object.fromEntries(
            (job.FinalMetricDataList ?? [])
              .filter((m) => typeof m.MetricName === 'string' && typeof m.Value === 'number')
              .map((m) => [m.MetricName as string, m.Value as number]),
          ),
          billableSeconds: job.BillableTimeInSeconds ?? null,
        },
      };
    case 'Stopped':
      return { state: 'cancelled', message: `Stopped${secondary}` };
    default:
      return { state: 'failed', message: `${status}${secondary}${job.FailureReason ? `: ${job.FailureReason}` : ''}` };
  }
}

/** SageMaker in one region, with the worker's AWS credentials. */
export function sagemaker(options: SageMakerOptions = {}) {
  const env = options.env ?? process.env;
  const region = options.region ?? s3RegionFromEnv(env);
  const endpoint = serviceUrl(
    options.endpoint ?? env.AWS_ENDPOINT_URL_SAGEMAKER ?? `https://api.sagemaker.${region}.amazonaws.com`,
    'AWS_ENDPOINT_URL_SAGEMAKER',
    'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
  ).href;
  const credentials: S3CredentialSource = options.credentials ?? s3Credentials(env, 'SageMaker');
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 500;

  /** One call of the JSON API; `replayable` as in the REST client: safe to send again after a failure on the way. */
  async function call<T>(action: string, body: Record<string, unknown>, replayable: boolean, signal?: AbortSignal): Promise<T> {
    const what = `SageMaker ${action}`;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const keys = typeof credentials === 'function' ? await credentials() : credentials;
      const aws = new AwsClient({ ...keys, service: 'sagemaker', region, retries: 0 });
      const timeout = AbortSignal.timeout(requestTimeoutMs);
      let response: Response;
      try {
        response = await aws.fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `SageMaker.${action}` },
          body: JSON.stringify(body),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (error) {
        signal?.throwIfAborted();
        if (replayable && attempt < retries) {
          await sleep(retryDelayMs * 2 ** attempt, undefined, signal ? { signal } : undefined);
          continue;
        }
        const reason = timeout.aborted ? `no answer within ${requestTimeoutMs} ms` : describeError(toError(error));
        throw new IntegrationError(`${what} failed: ${reason} (${new URL(endpoint).host})`, null, null, { cause: error });
      }
      const text = await response.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        parsed = {};
      }
      if (response.ok) return parsed as T;
      // `__type` is `ResourceInUse` or `com.amazonaws.sagemaker#ResourceInUse`.
      const code = typeof parsed.__type === 'string' ? (parsed.__type.split('#').pop() ?? null) : null;
      const message = String(parsed.message ?? parsed.Message ?? text.slice(0, 200));
      const transient = response.status >= 500 || (code !== null && THROTTLED.has(code));
      if (transient && attempt < retries) {
        await sleep(retryDelayMs * 2 ** attempt, undefined, signal ? { signal } : undefined);
        continue;
      }
      const denied =
        response.status === 403 ||
        code === 'AccessDeniedException' ||
        code === 'UnrecognizedClientException' ||
        code === 'ExpiredTokenException';
      const hint = denied ? ' — check the worker’s AWS credentials and the IAM permissions for SageMaker' : '';
      throw new IntegrationError(
        `${what} answered ${response.status}${code ? ` ${code}` : ''}: ${message.slice(0, 500)}${hint}`,
        response.status,
        code,
      );
    }
  }

  const describeTrainingJob = (name: string, signal?: AbortSignal) =>
    call<TrainingJobWire>('DescribeTrainingJob', { TrainingJobName: name }, true, signal);

  /**
   * A training job as an external job. Its name is derived from the idempotency key, so a start
   * sent twice (a replayed flow) finds the job by name (`ResourceInUse`) instead of starting another.
   */
  const trainingJob: ExternalJob<TrainingJobInput, TrainingJobHandle, TrainingJobResult> = {
    kind: 'SageMaker training job',
    async start(input, ctx) {
      const { namePrefix, ...request } = input;
      const name = trainingJobName(namePrefix, ctx.idempotencyKey);
      try {
        await call('CreateTrainingJob', { ...request, TrainingJobName: name }, true, ctx.signal);
      } catch (error) {
        if (!(error instanceof IntegrationError && error.errorCode === 'ResourceInUse')) throw error;
      }
      return { name, region };
    },
    poll: async (handle, ctx) => trainingJobStatus(await describeTrainingJob(handle.name, ctx.signal)),
    async cancel(handle) {
      try {
        await call('StopTrainingJob', { TrainingJobName: handle.name }, true);
      } catch (error) {
        // Already stopping, stopped or ended: nothing left to stop.
        if (!(error instanceof IntegrationError && error.errorCode === 'ValidationException')) throw error;
      }
    },
    link: (handle) =>
      `https://${handle.region}.console.aws.amazon.com/sagemaker/home?region=${handle.region}#/jobs/${encodeURIComponent(handle.name)}`,
  };

  /**
   * Registers a model version in a model package group (created when missing), with the Outpost run
   * and asset in `CustomerMetadataProperties`; inside a run it links the package and, with `asset`,
   * adds its ARN to the materialisation's metadata. A retried call reuses its `ClientToken`, so it
   * never makes a second version.
   */
  async function registerModelPackage(input: RegisterModelPackageInput): Promise<{ arn: string }> {
    const { run, task } = currentScope();
    const signal = input.signal ?? input.asset?.signal ?? task?.signal ?? run?.signal;
    try {
      await call('CreateModelPackageGroup', { ModelPackageGroupName: input.group }, true, signal);
    } catch (error) {
      const exists =
        error instanceof IntegrationError &&
        (error.errorCode === 'ResourceInUse' ||
          (error.errorCode === 'ValidationException' && /already exists/i.test(error.message)));
      if (!exists) throw error;
    }
    const lineage: Record<string, string> = {};
    if (run) {
      lineage['outpost.run_id'] = run.context.runId;
      lineage['outpost.flow'] = run.context.flowName;
      if (run.context.deploymentName) lineage['outpost.deployment'] = run.context.deploymentName;
    }
    if (input.asset) {
      lineage['outpost.asset_key'] = input.asset.assetKey;
      lineage['outpost.code_version'] = input.asset.codeVersion;
      if (input.asset.partition) lineage['outpost.partition'] = input.asset.partition.key;
    }
    const token = createHash('sha256')
      .update(
        `${run?.run.id ?? crypto.randomUUID()}:${task?.taskKey ?? input.asset?.assetKey ?? ''}:${input.group}:${input.modelDataUrl}`,
      )
      .digest('hex')
      .slice(0, 36);
    const { ModelPackageArn } = await call<{ ModelPackageArn?: string }>(
      'CreateModelPackage',
      {
        ModelPackageGroupName: input.group,
        ModelApprovalStatus: input.approvalStatus ?? 'PendingManualApproval',
        ...(input.description ? { ModelPackageDescription: input.description } : {}),
        InferenceSpecification: {
          Containers: [{ Image: input.image, ModelDataUrl: input.modelDataUrl }],
          SupportedContentTypes: input.contentTypes ?? ['text/csv'],
          SupportedResponseMIMETypes: input.responseTypes ?? ['text/csv'],
        },
        CustomerMetadataProperties: { ...lineage, ...input.metadata },
        ClientToken: token,
      },
      true,
      signal,
    );
    if (!ModelPackageArn)
      throw new IntegrationError('SageMaker CreateModelPackage answered without a ModelPackageArn', 200, null);
    if (run) {
      const region = ModelPackageArn.split(':')[3] ?? 'us-east-1';
      await artifact.link(
        `sagemaker-${input.group.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
        `https://${region}.console.aws.amazon.com/sagemaker/home?region=${region}#/model-registry/${encodeURIComponent(input.group)}`,
        ModelPackageArn,
        { description: 'registered in the SageMaker model registry' },
      );
    }
    input.asset?.addMetadata({
      sagemakerModelPackage: ModelPackageArn,
      // The well-known shape the control plane's lineage document lists as a registration.
      'registered.sagemaker': { modelPackageArn: ModelPackageArn, group: input.group },
    });
    (input.asset?.log ?? log).info(`registered ${ModelPackageArn}`);
    return { arn: ModelPackageArn };
  }

  return { trainingJob, describeTrainingJob, registerModelPackage };
}

export type SageMaker = ReturnType<typeof sagemaker>;
