import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParameterValidationError } from '@outpost/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { churnPipeline } from '../flows/pipeline.js';
import { DatasetError } from '../src/dataset.js';
import { ModelSchema } from '../src/model.js';
import { QualityGateError } from '../src/model-card.js';
import { type LocalModelStore, SIGNATURE_HEADER, signBytes, startLocalModelStore, storedFile } from '../src/model-store.js';
import { verifyModelSignature } from '../src/signature.js';

const KEY = 'test-signing-key-5b7c1e0d9a';

/** Runs the flow with console output captured, so tests can read its log and artifact lines. */
async function runCapturing<T>(run: () => Promise<T>): Promise<{ result: T | null; error: unknown; lines: string[] }> {
  const lines: string[] = [];
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  const log = vi.spyOn(console, 'log').mockImplementation(capture);
  const err = vi.spyOn(console, 'error').mockImplementation(capture);
  try {
    return { result: await run(), error: null, lines };
  } catch (error) {
    return { result: null, error, lines };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('the churn pipeline, called as a function', () => {
  let scratch: string;
  let store: LocalModelStore;
  const previous = { storage: process.env.OUTPOST_RESULT_STORAGE, key: process.env.MODEL_SIGNING_KEY };

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ml-pipeline-test-'));
    // Task results are cached here, not in the user's own cache directory.
    process.env.OUTPOST_RESULT_STORAGE = new URL(`file://${join(scratch, 'results')}`).href;
    process.env.MODEL_SIGNING_KEY = KEY;
    store = await startLocalModelStore(join(scratch, 'store'), KEY);
  });

  afterEach(() => {
    process.env.MODEL_SIGNING_KEY = KEY;
  });

  afterAll(async () => {
    await store?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
    for (const [name, value] of [
      ['OUTPOST_RESULT_STORAGE', previous.storage],
      ['MODEL_SIGNING_KEY', previous.key],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('trains a model that passes its quality gate, scores every active customer and publishes signed files', async () => {
    const { result, error, lines } = await runCapturing(() => churnPipeline({ modelStoreUrl: store.url }));
    expect(error).toBeNull();
    if (!result) return;
    expect(result.passed).toBe(true);
    expect(result.metrics.auc).toBeGreaterThan(0.8);
    expect(result.metrics.accuracy).toBeGreaterThan(0.75);
    expect(result.rows).toEqual({ valid: 787, rejected: 13, train: 590, test: 197 });
    expect(result.scoring.customers).toBe(400);
    expect(result.scoring.bands.high + result.scoring.bands.medium + result.scoring.bands.low).toBe(400);

    const dir = storedFile(join(scratch, 'store'), store.url, `churn/${result.runId}`);
    const model = ModelSchema.parse(JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')));
    expect(result.signature).not.toBeNull();
    expect(verifyModelSignature(model, KEY, result.signature ?? '')).toBe(true);
    const scores = (await readFile(join(dir, 'scores.csv'), 'utf8')).trim().split('\n');
    expect(scores[0]).toBe('customer_id,probability,risk');
    expect(scores).toHaveLength(401);
    const card = await readFile(join(dir, 'model-card.md'), 'utf8');
    expect(card).toContain('Quality gate **passed**');
    expect(card).toContain(`Model signature (HMAC-SHA256): \`${result.signature}\``);
    expect(card).toMatch(/!\[ROC curve\]\(data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+\)/);

    // Every kind of artifact, the mapped scoring task and the subflow show in the run's output.
    expect(lines.some((l) => l.includes("artifact progress 'training': 100%"))).toBe(true);
    expect(lines.some((l) => l.includes("artifact table 'metrics'"))).toBe(true);
    expect(lines.some((l) => l.includes("artifact markdown 'model-card'"))).toBe(true);
    expect(lines.some((l) => l.includes(`artifact link 'model'`) && l.includes(`churn/${result.runId}/model.json`))).toBe(true);
    expect(lines.some((l) => l.startsWith('[score-customers') && l.includes('scored 400 customers in 4 batches'))).toBe(true);
  });

  it('reuses the cached validation and features on a second run over the same data', async () => {
    const { error, lines } = await runCapturing(() => churnPipeline({ modelStoreUrl: store.url }));
    expect(error).toBeNull();
    const hits = lines.filter((l) => l.includes('cache hit'));
    expect(hits.some((l) => l.includes('/validate-dataset-'))).toBe(true);
    expect(hits.some((l) => l.includes('/prepare-features-'))).toBe(true);
  });

  it('fails the run when the model misses the quality gate, after publishing the card that says why', async () => {
    const { error, lines } = await runCapturing(() => churnPipeline({ minAuc: 0.99, modelStoreUrl: store.url }));
    expect(error).toBeInstanceOf(QualityGateError);
    expect((error as Error).message).toMatch(/test AUC 0\.\d{3} is below 0\.990/);
    expect(lines.some((l) => l.includes("artifact markdown 'model-card'"))).toBe(true);
    expect(lines.some((l) => l.includes('scored 400 customers'))).toBe(false);
    expect(lines.some((l) => l.includes(`artifact link 'model'`))).toBe(false);
  });

  it('refuses training data with more rejected rows than allowed', async () => {
    const { error } = await runCapturing(() => churnPipeline({ maxRejectedFraction: 0.01 }));
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as Error).message).toContain('13 of 800 rows were rejected');
  });

  it('writes unsigned files to a directory when there is neither a model store nor a signing key', async () => {
    delete process.env.MODEL_SIGNING_KEY;
    const outputDir = join(scratch, 'out');
    const { result, error, lines } = await runCapturing(() => churnPipeline({ outputDir }));
    expect(error).toBeNull();
    expect(result?.signature).toBeNull();
    expect(result?.published.files).toEqual(['model.json', 'scores.csv', 'model-card.md'].map((f) => join(outputDir, f)));
    expect(await readFile(join(outputDir, 'model-card.md'), 'utf8')).toContain('Unsigned: no signing key was configured');
    expect(lines.some((l) => l.includes('MODEL_SIGNING_KEY is not set'))).toBe(true);
  });

  it('retries an upload the model store refuses and fails once the retries are spent', async () => {
    const other = await startLocalModelStore(join(scratch, 'other-store'), 'a-different-key-entirely');
    try {
      const { error, lines } = await runCapturing(() => churnPipeline({ modelStoreUrl: other.url }));
      expect((error as Error).message).toMatch(/answered 403/);
      expect(lines.filter((l) => l.includes('/publish-outputs-0] warning attempt'))).toHaveLength(2);
    } finally {
      await other.close();
    }
  });

  it('rejects parameters outside their ranges before doing any work', async () => {
    const { error, lines } = await runCapturing(() => churnPipeline({ learningRate: -1, testFraction: 1.5 }));
    expect(error).toBeInstanceOf(ParameterValidationError);
    expect(lines.some((l) => l.includes('loaded builtin:customers'))).toBe(false);
  });
});

describe('the local model store', () => {
  it('takes a file only with the signature of its body made with its key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ml-store-test-'));
    const store = await startLocalModelStore(dir, KEY);
    try {
      const put = (signature: string) =>
        fetch(new URL('a/b.txt', store.url), { method: 'PUT', body: 'hello', headers: { [SIGNATURE_HEADER]: signature } });
      expect((await put(signBytes('wrong-key-wrong-key', 'hello'))).status).toBe(403);
      expect((await put(signBytes(KEY, 'hello'))).status).toBe(201);
      const got = await fetch(new URL('a/b.txt', store.url));
      expect(await got.text()).toBe('hello');
      expect((await fetch(new URL('../../etc/passwd', store.url))).status).toBe(404);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
