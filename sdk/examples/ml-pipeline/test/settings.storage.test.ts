import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../assets/settings.js';
import { churnStorage, defaultAssetDir, scoresCsvFormat } from '../assets/storage.js';
import { describeSource } from '../src/sources.js';

describe('settings from the environment', () => {
  it('take their defaults when unset or empty', () => {
    expect(readSettings({ CHURN_MIN_AUC: '' })).toEqual({
      trainingData: 'builtin:customers',
      scoringData: 'builtin:active-customers',
      maxRejectedFraction: 0.05,
      gate: { minAuc: 0.75, minAccuracy: 0.7 },
      decisionThreshold: 0.5,
      scoringBatchSize: 100,
      scoringConcurrency: 4,
      modelStoreUrl: null,
      signingKey: null,
      trainer: 'typescript',
      python: 'python3',
      mlflow: null,
    });
  });

  it('read the trainer, its interpreter and the MLflow server', () => {
    const s = readSettings({
      CHURN_TRAINER: 'python',
      CHURN_PYTHON: '/opt/venv/bin/python',
      MLFLOW_TRACKING_URI: 'https://mlflow.internal',
    });
    expect([s.trainer, s.python, s.mlflow]).toEqual([
      'python',
      '/opt/venv/bin/python',
      { trackingUri: 'https://mlflow.internal', model: 'churn' },
    ]);
    expect(() => readSettings({ CHURN_TRAINER: 'julia' })).toThrow(
      'invalid settings: CHURN_TRAINER: expected typescript or python',
    );
  });

  it('read numbers, URLs and the signing key', () => {
    const s = readSettings({
      CHURN_MIN_AUC: '0.8',
      CHURN_SCORING_BATCH_SIZE: ' 250 ',
      MODEL_STORE_URL: 'http://models.internal/churn/',
      MODEL_SIGNING_KEY: 'k'.repeat(24),
    });
    expect([s.gate.minAuc, s.scoringBatchSize, s.modelStoreUrl, s.signingKey]).toEqual([
      0.8,
      250,
      'http://models.internal/churn/',
      'k'.repeat(24),
    ]);
  });

  it('refuse values out of range, naming every variable and never repeating a value', () => {
    const read = () =>
      readSettings({
        CHURN_MIN_AUC: '1.5',
        CHURN_SCORING_CONCURRENCY: 'four',
        CHURN_DECISION_THRESHOLD: '0',
        MODEL_STORE_URL: 'ftp://user:hunter2@models.internal/',
      });
    expect(read).toThrow(
      'invalid settings: CHURN_MIN_AUC: expected at most 1; CHURN_DECISION_THRESHOLD: expected more than 0 and less than 1; CHURN_SCORING_CONCURRENCY: expected a number; MODEL_STORE_URL: expected an http(s) URL',
    );
    expect(read).not.toThrow(/hunter2/);
  });

  it('show a source without its credentials or query', () => {
    expect(describeSource('https://user:secret@data.internal/exports/customers.csv?token=abc')).toBe(
      'https://data.internal/exports/customers.csv',
    );
    expect(describeSource('/srv/exports/customers.csv')).toBe('file customers.csv');
    expect(describeSource('builtin:customers')).toBe('builtin:customers');
  });
});

describe('where the values are stored', () => {
  it('is a directory by default: CHURN_ASSET_DIR, else the SDK default under the data home', () => {
    expect(defaultAssetDir({ CHURN_ASSET_DIR: '/var/lib/churn' })).toBe('/var/lib/churn');
    expect(defaultAssetDir({ XDG_DATA_HOME: '/data' })).toBe(join('/data', 'outpost', 'assets'));
    const fs = churnStorage({ CHURN_ASSET_DIR: '/var/lib/churn' });
    expect([fs.kind, fs.location, fs.json.kind, fs.scores.kind, fs.text('md').kind]).toEqual([
      'fs',
      '/var/lib/churn',
      'fs',
      'fs',
      'fs',
    ]);
  });

  it('is a bucket when CHURN_ASSET_S3_BUCKET names one', () => {
    const s3 = churnStorage({ CHURN_ASSET_S3_BUCKET: 'acme-ml', CHURN_ASSET_S3_ENDPOINT: 'http://127.0.0.1:9000' });
    expect([s3.kind, s3.location, s3.json.kind, s3.scores.kind, s3.text('csv').kind]).toEqual([
      's3',
      's3://acme-ml/churn',
      's3',
      's3',
      's3',
    ]);
  });

  it('keeps scores as CSV that reads back to the same numbers', () => {
    const scores = [
      { customerId: 'C20001', probability: 0.12897315469137746, risk: 'low' as const },
      { customerId: 'C20002', probability: 0.7000000000000001, risk: 'high' as const },
    ];
    const bytes = new TextEncoder().encode(String(scoresCsvFormat.encode(scores)));
    expect(scoresCsvFormat.decode(bytes)).toEqual(scores);
    expect(() => scoresCsvFormat.decode(new TextEncoder().encode('a,b\n1,2\n'))).toThrow(/not a scores file/);
  });
});
