import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flow, task } from '../src/index.js';
import { type CustomJobInput, ExternalJobError, IntegrationError, runExternalJob, vertexAI } from '../src/integrations/index.js';
import { testFlow } from '../src/testing/index.js';
import { VertexStandIn } from './support/vertex-stand-in.js';

const EMAIL = 'trainer@ml-project.iam.gserviceaccount.com';
const PROJECT = { id: 'ml-project', number: '123456789', location: 'europe-west4' };
let google: VertexStandIn;
let dir: string;
let keyFile: string;
let otherKeyFile: string;

function serviceAccountKey(tokenUri: string): { file: object; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    file: {
      type: 'service_account',
      project_id: PROJECT.id,
      private_key_id: 'k1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: EMAIL,
      token_uri: tokenUri,
    },
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'outpost-vertex-'));
  // The stand-in needs the account's public key before it starts, and the key file its URL.
  const placeholder = serviceAccountKey('');
  google = new VertexStandIn({ email: EMAIL, publicKeyPem: placeholder.publicKeyPem }, PROJECT);
  await google.start();
  keyFile = path.join(dir, 'key.json');
  writeFileSync(keyFile, JSON.stringify({ ...placeholder.file, token_uri: `${google.url}/token` }));
  otherKeyFile = path.join(dir, 'other.json');
  writeFileSync(otherKeyFile, JSON.stringify(serviceAccountKey(`${google.url}/token`).file));
  google.seed(12);
});

afterAll(async () => {
  await google?.close();
  rmSync(dir, { recursive: true, force: true });
});

const vertex = (key = keyFile) =>
  vertexAI({
    env: {
      GOOGLE_CLOUD_PROJECT: PROJECT.id,
      GOOGLE_CLOUD_LOCATION: PROJECT.location,
      GOOGLE_APPLICATION_CREDENTIALS: key,
      VERTEX_AI_ENDPOINT: google.url,
    },
    retryDelayMs: 1,
  });
const fast = { pollIntervalMs: 5 };
const job = (args: string[] = []): CustomJobInput => ({
  displayName: 'churn-train',
  jobSpec: {
    workerPoolSpecs: [
      {
        machineSpec: { machineType: 'n1-standard-8', acceleratorType: 'NVIDIA_TESLA_T4', acceleratorCount: 1 },
        replicaCount: 1,
        containerSpec: { imageUri: 'europe-docker.pkg.dev/ml-project/train/churn:3', args },
      },
    ],
    baseOutputDirectory: { outputUriPrefix: 'gs://ml-bucket/churn/run-1' },
  },
  labels: { team: 'ml' },
});

describe('vertexAI().customJob with runExternalJob', () => {
  it('trains to SUCCEEDED from a task with a token from the service account key, labelled for the task attempt', async () => {
    const train = task('train', () => runExternalJob(vertex().customJob, job(), fast));
    const run = await testFlow(
      flow({ name: 'vertex' }, () => train()),
      undefined,
      { fakeClock: false },
    );
    const result = run.expectCompleted();
    expect(result).toMatchObject({
      state: 'JOB_STATE_SUCCEEDED',
      outputUriPrefix: 'gs://ml-bucket/churn/run-1',
      endTime: '2026-11-25T10:31:00Z',
    });
    // The key's assertion was accepted once; the token it bought was reused for every call.
    expect(google.tokens).toHaveLength(1);
    const created = google.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/customJobs'));
    expect(created).toHaveLength(1);
    expect(created[0]?.path).toBe(`projects/${PROJECT.id}/locations/${PROJECT.location}/customJobs`);
    expect(created[0]?.body?.labels).toMatchObject({ team: 'ml', 'outpost-key': expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(run.logs.map((l) => l.message).filter((m) => m.startsWith('Vertex AI custom job '))).toEqual([
      'Vertex AI custom job running: PENDING',
      'Vertex AI custom job running: RUNNING',
      'Vertex AI custom job succeeded: SUCCEEDED',
    ]);
  });

  it('finds the job it started, on a later page of the list, when the start is sent again', async () => {
    const first = await vertex().customJob.start(job(), { idempotencyKey: 'replayed:train-0:1' });
    google.seed(7);
    const before = google.jobs.length;
    const again = await vertex().customJob.start(job(), { idempotencyKey: 'replayed:train-0:1' });
    expect(again).toEqual(first);
    expect(google.jobs.length).toBe(before);
    // The search followed nextPageToken past pages that held none of its jobs.
    const searches = google.requests.filter((r) => r.method === 'GET' && r.query.filter?.startsWith('labels.outpost-key='));
    expect(searches.at(-1)?.query.pageToken).toBeDefined();
  });

  it("fails with the job's error, and cancels a job that outlives its time limit", async () => {
    const failed = await runExternalJob(vertex().customJob, job(['--fail']), { ...fast, idempotencyKey: 'fails' }).catch(
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(ExternalJobError);
    expect(String(failed)).toMatch(/failed: FAILED: The replica workerpool0-0 exited with a non-zero status of 1\.$/);

    const slow = await runExternalJob(vertex().customJob, job(['--forever']), {
      ...fast,
      idempotencyKey: 'slow',
      timeoutSeconds: 0.2,
    }).catch((e: unknown) => e);
    expect((slow as ExternalJobError).state).toBe('timed_out');
    const cancelled = google.requests.filter((r) => r.path.endsWith(':cancel')).at(-1);
    expect(cancelled?.method).toBe('POST');
    expect(google.jobs.find((j) => `${j.name}:cancel` === cancelled?.path)?.state).toBe('JOB_STATE_CANCELLING');
  });

  it('names the service account Google refused, and the setting to check', async () => {
    const refused = (await vertex(otherKeyFile)
      .customJob.start(job(), { idempotencyKey: 'refused' })
      .catch((e: unknown) => e)) as IntegrationError;
    expect(refused).toBeInstanceOf(IntegrationError);
    expect(refused.message).toMatch(
      new RegExp(`Google refused the service account ${EMAIL}: invalid_grant .* check GOOGLE_APPLICATION_CREDENTIALS`),
    );
    expect(() => vertexAI({ env: {} })).toThrow(/set GOOGLE_CLOUD_PROJECT/);
  });
});
