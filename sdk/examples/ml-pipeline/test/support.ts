import { artifact } from '@outpost/sdk';
import { vi } from 'vitest';

export interface Captured<T> {
  result: T;
  /** What the local reporter printed: every log line, one line per artifact, every asset event. */
  lines: string[];
  /** Every artifact in full, as JSON of its arguments: what a worker would send to the control plane. */
  artifacts: string[];
}

/** Runs `run` with console output captured, and every artifact's content observed on its way to the reporter. */
export async function runCapturing<T>(run: () => Promise<T>): Promise<Captured<T>> {
  const lines: string[] = [];
  const artifacts: string[] = [];
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  const spies = [
    vi.spyOn(console, 'log').mockImplementation(capture),
    vi.spyOn(console, 'error').mockImplementation(capture),
    // Spies that call through: the artifacts are published as usual, their arguments noted.
    ...(['markdown', 'table', 'link', 'progress'] as const).map((kind) => vi.spyOn(artifact, kind)),
  ];
  try {
    return { result: await run(), lines, artifacts };
  } finally {
    for (const spy of spies.slice(2)) for (const args of spy.mock.calls) artifacts.push(JSON.stringify(args));
    for (const spy of spies) spy.mockRestore();
  }
}

/** Sets environment variables (undefined removes one) and returns what puts the old values back. */
export function setEnv(values: Record<string, string | undefined>): () => void {
  const before = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (next: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(next)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  return () => apply(before);
}

/** Every variable the churn assets read, unset: a test starts from the defaults whatever the shell holds. */
export const CHURN_DEFAULTS: Record<string, undefined> = Object.fromEntries(
  [
    'CHURN_TRAINING_DATA',
    'CHURN_SCORING_DATA',
    'CHURN_MAX_REJECTED_FRACTION',
    'CHURN_MIN_AUC',
    'CHURN_MIN_ACCURACY',
    'CHURN_DECISION_THRESHOLD',
    'CHURN_SCORING_BATCH_SIZE',
    'CHURN_SCORING_CONCURRENCY',
    'CHURN_TRAINER',
    'CHURN_PYTHON',
    'MLFLOW_TRACKING_URI',
    'MLFLOW_TRACKING_TOKEN',
    'CHURN_MLFLOW_MODEL',
    'CHURN_ASSET_S3_BUCKET',
    'MODEL_STORE_URL',
    'MODEL_SIGNING_KEY',
  ].map((name) => [name, undefined]),
);
