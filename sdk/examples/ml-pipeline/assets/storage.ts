import { homedir } from 'node:os';
import { join } from 'node:path';
import { type FileFormat, fsIO, type IOManager, s3IO } from '@outpost/sdk';
import { formatCsv, parseCsv } from '../src/csv.js';
import type { RiskBand, Score } from '../src/scoring.js';

/*
 * Where every churn asset's value lives: the customer's storage, never the control plane. Files
 * under a directory of the machine that runs the assets by default; an S3-compatible bucket when
 * CHURN_ASSET_S3_BUCKET is set. Chosen when the assets are defined (the module is loaded), so a
 * worker's environment decides for the runs it executes.
 */

/** UTF-8 text as it is: the day's raw CSV export, the model card's markdown. */
export function textFormat(extension: string): FileFormat<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return { extension, encode: (text) => text, decode: (bytes) => decoder.decode(bytes) };
}

const RISK_BANDS = new Set<string>(['high', 'medium', 'low']);

/** Scores as a CSV file other systems can pick up; probabilities keep every digit, so they read back equal. */
export const scoresCsvFormat: FileFormat<Score[]> = {
  extension: 'csv',
  encode: (scores) =>
    formatCsv([['customer_id', 'probability', 'risk'], ...scores.map((s) => [s.customerId, String(s.probability), s.risk])]),
  decode(bytes) {
    const [header, ...rows] = parseCsv(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    if (header?.cells.join(',') !== 'customer_id,probability,risk') throw new Error('not a scores file: unexpected header');
    return rows.map(({ line, cells: [customerId = '', probability = '', risk = ''] }) => {
      if (!RISK_BANDS.has(risk)) throw new Error(`scores file line ${line}: unknown risk band "${risk}"`);
      return { customerId, probability: Number(probability), risk: risk as RiskBand };
    });
  },
};

export interface ChurnStorage {
  /** `fs` or `s3`. */
  kind: 'fs' | 's3';
  /** Where the values are, for people: a directory or `s3://bucket/prefix`. */
  location: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON values of any asset.
  json: IOManager<any>;
  /** Text files with this extension. */
  text(extension: string): IOManager<string>;
  scores: IOManager<Score[]>;
}

/**
 * The default directory: CHURN_ASSET_DIR, else the one the SDK's own default I/O manager uses
 * ($XDG_DATA_HOME/outpost/assets, ~/.local/share/outpost/assets).
 */
export function defaultAssetDir(env: NodeJS.ProcessEnv): string {
  const configured = env.CHURN_ASSET_DIR?.trim();
  if (configured) return configured;
  return join(env.XDG_DATA_HOME?.trim() || join(homedir(), '.local', 'share'), 'outpost', 'assets');
}

/**
 * The storage `env` names: CHURN_ASSET_S3_BUCKET (with CHURN_ASSET_S3_PREFIX, default `churn`,
 * CHURN_ASSET_S3_ENDPOINT for MinIO or Ceph, and the AWS_* credentials of the flow's environment),
 * else files under `defaultAssetDir(env)`.
 */
export function churnStorage(env: NodeJS.ProcessEnv = process.env): ChurnStorage {
  const bucket = env.CHURN_ASSET_S3_BUCKET?.trim();
  if (bucket) {
    const prefix = env.CHURN_ASSET_S3_PREFIX?.trim() || 'churn';
    const endpoint = env.CHURN_ASSET_S3_ENDPOINT?.trim();
    const on = <T>(format?: FileFormat<T>) =>
      s3IO<T>({ bucket, prefix, ...(endpoint ? { endpoint } : {}), ...(format ? { format } : {}) });
    return {
      kind: 's3',
      location: `s3://${bucket}/${prefix}`,
      json: on(),
      text: (ext) => on(textFormat(ext)),
      scores: on(scoresCsvFormat),
    };
  }
  const dir = defaultAssetDir(env);
  const on = <T>(format?: FileFormat<T>) => fsIO<T>({ dir, ...(format ? { format } : {}) });
  return { kind: 'fs', location: dir, json: on(), text: (ext) => on(textFormat(ext)), scores: on(scoresCsvFormat) };
}
