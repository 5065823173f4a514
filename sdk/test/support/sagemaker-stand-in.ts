import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsV4Signer } from 'aws4fetch';
import { StandInServer } from './stand-in-server.js';

/*
 * A stand-in for SageMaker's JSON API, written from the SageMaker API reference: POST / with
 * `X-Amz-Target: SageMaker.<Action>` and `application/x-amz-json-1.1` bodies, errors as
 * `{ __type, message }` (ResourceInUse, ValidationException, ThrottlingException…), and the
 * training job states (InProgress with its secondary statuses, Completed, Failed, Stopping,
 * Stopped). It checks each request's Signature V4 against the keys it was given, and moves a job
 * one step each time it is described, so tests need no clock.
 */

export interface SageMakerRequest {
  action: string;
  body: Record<string, unknown>;
  signedFor: string | null;
}

interface TrainingJob {
  name: string;
  request: Record<string, unknown>;
  describes: number;
  status: string;
  secondary: string;
  failureReason: string | null;
  stopRequested: boolean;
}

export class SageMakerStandIn extends StandInServer {
  readonly requests: SageMakerRequest[] = [];
  readonly jobs = new Map<string, TrainingJob>();
  readonly groups = new Set<string>();
  readonly packages: { arn: string; token: string; body: Record<string, unknown> }[] = [];
  /** The next N requests are answered ThrottlingException. */
  throttleNext = 0;
  constructor(
    private readonly keys: { accessKeyId: string; secretAccessKey: string },
    private readonly region: string,
  ) {
    super();
  }

  private arn(kind: string, name: string): string {
    return `arn:aws:sagemaker:${this.region}:123456789012:${kind}/${name}`;
  }

  /** Signs the request again with the stand-in's keys and compares: a wrong key, region or service fails. */
  private async verify(req: IncomingMessage, body: string): Promise<string | null> {
    const given = req.headers.authorization ?? '';
    const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(given);
    if (!scope || scope[1] !== this.keys.accessKeyId) return null;
    // Only the headers the client signed: transports add others (connection, user-agent…).
    const signedHeaders = new Set((/SignedHeaders=([^,]+)/.exec(given)?.[1] ?? '').split(';'));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (signedHeaders.has(name) && name !== 'host' && typeof value === 'string') headers[name] = value;
    }
    const signer = new AwsV4Signer({
      method: req.method ?? 'POST',
      url: `${this.url}${req.url ?? '/'}`,
      headers,
      body,
      ...this.keys,
      service: 'sagemaker',
      region: this.region,
      datetime: headers['x-amz-date'] ?? '',
    });
    const signed = await signer.sign();
    return signed.headers.get('authorization') === given ? `${scope[2]}/${scope[3]}` : null;
  }

  protected async respond(req: IncomingMessage, text: string, res: ServerResponse): Promise<void> {
    const action = String(req.headers['x-amz-target'] ?? '').replace(/^SageMaker\./, '');
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    const signedFor = await this.verify(req, text);
    this.requests.push({ action, body, signedFor });
    if (signedFor === null) {
      return this.error(res, 400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1') {
      return this.error(res, 400, 'SerializationException', 'Unexpected content type');
    }
    if (this.throttleNext > 0) {
      this.throttleNext--;
      return this.error(res, 400, 'ThrottlingException', 'Rate exceeded');
    }
    switch (action) {
      case 'CreateTrainingJob': {
        const name = body.TrainingJobName;
        if (typeof name !== 'string' || !/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(name)) {
          return this.error(
            res,
            400,
            'ValidationException',
            `Value '${String(name)}' at 'trainingJobName' failed to satisfy constraint`,
          );
        }
        for (const field of ['AlgorithmSpecification', 'RoleArn', 'OutputDataConfig', 'ResourceConfig', 'StoppingCondition']) {
          if (body[field] === undefined) return this.error(res, 400, 'ValidationException', `${field} is required`);
        }
        if (this.jobs.has(name)) {
          return this.error(
            res,
            400,
            'ResourceInUse',
            `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${this.arn('training-job', name)})`,
          );
        }
        this.jobs.set(name, {
          name,
          request: body,
          describes: 0,
          status: 'InProgress',
          secondary: 'Starting',
          failureReason: null,
          stopRequested: false,
        });
        return this.ok(res, { TrainingJobArn: this.arn('training-job', name) });
      }
      case 'DescribeTrainingJob': {
        const job = this.jobs.get(String(body.TrainingJobName));
        if (!job) return this.error(res, 400, 'ValidationException', 'Requested resource not found.');
        this.advance(job);
        const output = (job.request.OutputDataConfig as { S3OutputPath: string }).S3OutputPath;
        return this.ok(res, {
          TrainingJobName: job.name,
          TrainingJobArn: this.arn('training-job', job.name),
          TrainingJobStatus: job.status,
          SecondaryStatus: job.secondary,
          ...(job.failureReason ? { FailureReason: job.failureReason } : {}),
          ...(job.status === 'Completed'
            ? {
                ModelArtifacts: { S3ModelArtifacts: `${output}/${job.name}/output/model.tar.gz` },
                FinalMetricDataList: [
                  { MetricName: 'validation:auc', Value: 0.873, Timestamp: 1_764_000_000 },
                  { MetricName: 'train:logloss', Value: 0.41, Timestamp: 1_764_000_000 },
                ],
                BillableTimeInSeconds: 311,
              }
            : {}),
        });
      }
      case 'StopTrainingJob': {
        const job = this.jobs.get(String(body.TrainingJobName));
        if (!job) return this.error(res, 400, 'ValidationException', 'Requested resource not found.');
        if (job.status !== 'InProgress') {
          return this.error(
            res,
            400,
            'ValidationException',
            `The request was rejected because the training job is in status ${job.status}.`,
          );
        }
        Object.assign(job, { status: 'Stopping', secondary: 'Stopping', stopRequested: true });
        return this.ok(res, {});
      }
      case 'CreateModelPackageGroup': {
        const name = String(body.ModelPackageGroupName);
        if (this.groups.has(name)) {
          return this.error(
            res,
            400,
            'ValidationException',
            `Model Package Group already exists: ${this.arn('model-package-group', name)}`,
          );
        }
        this.groups.add(name);
        return this.ok(res, { ModelPackageGroupArn: this.arn('model-package-group', name) });
      }
      case 'CreateModelPackage': {
        const group = String(body.ModelPackageGroupName);
        if (!this.groups.has(group))
          return this.error(res, 400, 'ValidationException', `Model Package Group ${group} does not exist.`);
        const token = String(body.ClientToken ?? '');
        const again = token ? this.packages.find((p) => p.token === token) : undefined;
        if (again) return this.ok(res, { ModelPackageArn: again.arn });
        const version = this.packages.filter((p) => p.body.ModelPackageGroupName === group).length + 1;
        const arn = this.arn('model-package', `${group}/${version}`);
        this.packages.push({ arn, token, body });
        return this.ok(res, { ModelPackageArn: arn });
      }
      default:
        return this.error(res, 400, 'UnknownOperationException', `Unknown operation ${action}`);
    }
  }

  /** InProgress (Starting → Downloading → Training), then Completed or Failed; a stopped job ends Stopped. */
  private advance(job: TrainingJob): void {
    job.describes++;
    if (job.stopRequested) {
      if (job.status === 'Stopping' && job.describes > 1) Object.assign(job, { status: 'Stopped', secondary: 'Stopped' });
      return;
    }
    if (job.status !== 'InProgress') return;
    const hyper = (job.request.HyperParameters ?? {}) as Record<string, string>;
    if (hyper.endless === 'true') {
      job.secondary = 'Training';
      return;
    }
    const steps = ['Starting', 'Downloading', 'Training'];
    if (job.describes < steps.length) {
      job.secondary = steps[job.describes] as string;
      return;
    }
    if (hyper.fail) {
      Object.assign(job, { status: 'Failed', secondary: 'Failed', failureReason: `AlgorithmError: ${hyper.fail}` });
    } else {
      Object.assign(job, { status: 'Completed', secondary: 'Completed' });
    }
  }

  private ok(res: ServerResponse, body: unknown): void {
    this.json(res, 200, body, 'application/x-amz-json-1.1');
  }

  private error(res: ServerResponse, status: number, type: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ __type: type, message }));
  }
}
