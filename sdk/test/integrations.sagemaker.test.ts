import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asset, flow, fsIO, materialize, task } from '../src/index.js';
import {
  ExternalJobError,
  IntegrationError,
  runExternalJob,
  sagemaker,
  type TrainingJobInput,
  trainingJobName,
  trainingJobStatus,
} from '../src/integrations/index.js';
import { testFlow } from '../src/testing/index.js';
import { SageMakerStandIn } from './support/sagemaker-stand-in.js';

const KEYS = { accessKeyId: 'AKIAOUTPOSTTEST0001', secretAccessKey: 'sagemaker-secret-key-6a1f' };
const REGION = 'eu-west-1';
let aws: SageMakerStandIn;
let dir: string;

beforeAll(async () => {
  aws = new SageMakerStandIn(KEYS, REGION);
  await aws.start();
  dir = mkdtempSync(path.join(tmpdir(), 'outpost-sagemaker-'));
});

afterAll(async () => {
  await aws?.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = (keys = KEYS) =>
  sagemaker({
    env: {
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL_SAGEMAKER: aws.url,
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    },
    retryDelayMs: 1,
  });
const fast = { pollIntervalMs: 5 };

const training = (hyper: Record<string, string> = {}): TrainingJobInput => ({
  namePrefix: 'churn-xgboost',
  AlgorithmSpecification: {
    TrainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1.7',
    TrainingInputMode: 'File',
  },
  RoleArn: 'arn:aws:iam::123456789012:role/sagemaker-training',
  OutputDataConfig: { S3OutputPath: 's3://ml-bucket/churn/models' },
  ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
  StoppingCondition: { MaxRuntimeInSeconds: 3600 },
  HyperParameters: { max_depth: '5', ...hyper },
});

describe('sagemaker().trainingJob with runExternalJob', () => {
  it('trains to Completed from a task, signed for the region, named for the task attempt, with its artifacts and metrics', async () => {
    const train = task('train', () => runExternalJob(client().trainingJob, training(), fast));
    const run = await testFlow(
      flow({ name: 'sagemaker' }, () => train()),
      undefined,
      { fakeClock: false },
    );
    const result = run.expectCompleted();

    const name = trainingJobName('churn-xgboost', `${run.id}:train-0:1`);
    expect(result).toEqual({
      name,
      arn: `arn:aws:sagemaker:${REGION}:123456789012:training-job/${name}`,
      modelArtifacts: `s3://ml-bucket/churn/models/${name}/output/model.tar.gz`,
      metrics: { 'validation:auc': 0.873, 'train:logloss': 0.41 },
      billableSeconds: 311,
    });
    const create = aws.requests.find((r) => r.action === 'CreateTrainingJob');
    expect(create?.body).toMatchObject({ TrainingJobName: name, HyperParameters: { max_depth: '5' } });
    expect(create?.body.namePrefix).toBeUndefined();
    // Every request carried a Signature V4 the stand-in could verify, for this region and service.
    expect(aws.requests.every((r) => r.signedFor === `${REGION}/sagemaker`)).toBe(true);
    expect(run.logs.map((l) => l.message).filter((m) => m.startsWith('SageMaker training job '))).toEqual([
      'SageMaker training job running: InProgress (Downloading)',
      'SageMaker training job running: InProgress (Training)',
      'SageMaker training job succeeded: Completed',
    ]);
  });

  it('finds the job by its name when the start is sent again, instead of starting a second one', async () => {
    const jobs = aws.jobs.size;
    const first = await client().trainingJob.start(training(), { idempotencyKey: 'replayed-run:train-0:1' });
    const second = await client().trainingJob.start(training(), { idempotencyKey: 'replayed-run:train-0:1' });
    expect(second).toEqual(first);
    expect(aws.jobs.size).toBe(jobs + 1);
    expect(first.name).toMatch(/^churn-xgboost-[0-9a-f]{24}$/);
  });

  it("fails with SageMaker's failure reason, and stops a job that outlives its time limit", async () => {
    const failed = await runExternalJob(client().trainingJob, training({ fail: 'label column missing' }), {
      ...fast,
      idempotencyKey: 'fails',
    }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ExternalJobError);
    expect(String(failed)).toMatch(/failed: Failed \(Failed\): AlgorithmError: label column missing$/);

    const slow = await runExternalJob(client().trainingJob, training({ endless: 'true' }), {
      ...fast,
      idempotencyKey: 'endless',
      timeoutSeconds: 0.2,
    }).catch((e: unknown) => e);
    expect((slow as ExternalJobError).state).toBe('timed_out');
    const stopped = aws.jobs.get(trainingJobName('churn-xgboost', 'endless'));
    expect(stopped?.stopRequested).toBe(true);
    expect(aws.requests.filter((r) => r.action === 'StopTrainingJob').at(-1)?.body).toEqual({ TrainingJobName: stopped?.name });
  });

  it('waits out throttling, and says to check the credentials when AWS does not recognise them', async () => {
    aws.throttleNext = 2;
    const job = await client().describeTrainingJob(trainingJobName('churn-xgboost', 'fails'));
    expect(job.TrainingJobStatus).toBe('Failed');

    const refused = (await client({ accessKeyId: KEYS.accessKeyId, secretAccessKey: 'not-the-secret' })
      .describeTrainingJob('any')
      .catch((e: unknown) => e)) as IntegrationError;
    expect(refused).toBeInstanceOf(IntegrationError);
    expect(refused.message).toMatch(
      /SageMaker DescribeTrainingJob answered 400 UnrecognizedClientException: .* check the worker’s AWS credentials/,
    );
    expect(refused.message).not.toContain('not-the-secret');
  });
});

describe('sagemaker().registerModelPackage', () => {
  it('registers a model asset in a package group with its lineage, once per materialisation even when sent again', async () => {
    const model = asset({ key: 'churn/model', io: fsIO({ dir }) }, async (ctx) => {
      const registry = client();
      const input = {
        group: 'churn',
        image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1.7',
        modelDataUrl: 's3://ml-bucket/churn/models/job/output/model.tar.gz',
        asset: ctx,
        metadata: { auc: '0.873' },
      };
      const first = await registry.registerModelPackage(input);
      const again = await registry.registerModelPackage(input);
      return { first: first.arn, again: again.arn };
    });
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const result = await materialize([model]);
      expect(result.success).toBe(true);
      const value = result.valueOf(model);
      expect(value?.first).toBe(`arn:aws:sagemaker:${REGION}:123456789012:model-package/churn/1`);
      expect(value?.again).toBe(value?.first);
      expect(aws.packages).toHaveLength(1);
      expect(aws.packages[0]?.body).toMatchObject({
        ModelPackageGroupName: 'churn',
        ModelApprovalStatus: 'PendingManualApproval',
        InferenceSpecification: { Containers: [{ ModelDataUrl: 's3://ml-bucket/churn/models/job/output/model.tar.gz' }] },
        CustomerMetadataProperties: { 'outpost.run_id': result.runId, 'outpost.asset_key': 'churn/model', auc: '0.873' },
      });
      const event = result.events.find((e) => e.kind === 'materialization');
      expect(event?.kind === 'materialization' && event.metadata).toMatchObject({
        sagemakerModelPackage: value?.first,
        'registered.sagemaker': { modelPackageArn: value?.first, group: 'churn' },
      });
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('trainingJobStatus', () => {
  it('maps every training job status', () => {
    expect(trainingJobStatus({ TrainingJobStatus: 'InProgress', SecondaryStatus: 'Training' })).toEqual({
      state: 'running',
      message: 'InProgress (Training)',
    });
    expect(trainingJobStatus({ TrainingJobStatus: 'Stopping' }).state).toBe('running');
    expect(trainingJobStatus({ TrainingJobStatus: 'Completed' }).state).toBe('succeeded');
    expect(trainingJobStatus({ TrainingJobStatus: 'Stopped', SecondaryStatus: 'MaxRuntimeExceeded' })).toEqual({
      state: 'cancelled',
      message: 'Stopped (MaxRuntimeExceeded)',
    });
    expect(trainingJobStatus({ TrainingJobStatus: 'Failed', FailureReason: 'ClientError: no data' })).toEqual({
      state: 'failed',
      message: 'Failed: ClientError: no data',
    });
  });
});
