import { z } from '@outpost/sdk';

/*
 * What the churn assets read from their environment. An asset run takes no parameters of its own
 * (only which assets and partitions), so settings come from the deployment's job variables or the
 * worker's environment. Each asset (and check) reads them when it runs rather than when the module
 * loads: a check run on its own (`outpost assets check`) applies the thresholds in force then, and
 * a test can change one between two materialisations. Parsing them is cheap.
 */

const fraction = () => z.coerce.number({ error: 'expected a number' }).min(0, 'expected at least 0').max(1, 'expected at most 1');
const count = (max: number) =>
  z.coerce
    .number({ error: 'expected a number' })
    .int('expected a whole number')
    .min(1, 'expected at least 1')
    .max(max, `expected at most ${max}`);

const SettingsSchema = z.object({
  /** The customers export the daily snapshots are cut from: builtin:customers, a file path or an http(s) URL of a CSV. */
  CHURN_TRAINING_DATA: z.string().min(1).default('builtin:customers'),
  /** The active customers to score. */
  CHURN_SCORING_DATA: z.string().min(1).default('builtin:active-customers'),
  /** The blocking check of a day's features fails when validation rejects more than this share of its rows. */
  CHURN_MAX_REJECTED_FRACTION: fraction().default(0.05),
  /** Quality gate: the evaluation's blocking check fails below this test AUC. */
  CHURN_MIN_AUC: fraction().default(0.75),
  /** Quality gate: the evaluation's blocking check fails below this test accuracy. */
  CHURN_MIN_ACCURACY: fraction().default(0.7),
  /** Probability at or above which a customer is predicted to churn. */
  CHURN_DECISION_THRESHOLD: fraction()
    .refine((t) => t > 0 && t < 1, 'expected more than 0 and less than 1')
    .default(0.5),
  /** Customers per scoring task. */
  CHURN_SCORING_BATCH_SIZE: count(10_000).default(100),
  /** Scoring tasks run at once. */
  CHURN_SCORING_CONCURRENCY: count(64).default(4),
  /** Where churn/model trains: in the asset's own process (typescript), or scripts/train.py launched with Pipes (python). */
  CHURN_TRAINER: z.enum(['typescript', 'python'], { error: 'expected typescript or python' }).default('typescript'),
  /** The Python interpreter for CHURN_TRAINER=python: on PATH, or a path (a virtualenv's bin/python). */
  CHURN_PYTHON: z.string().min(1).default('python3'),
  /** An HTTP model store in your network that takes signed PUT uploads; without one, the files stay where the I/O manager keeps them. */
  MODEL_STORE_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** An MLflow tracking server: the published model is registered there as a version of CHURN_MLFLOW_MODEL, alias champion. */
  MLFLOW_TRACKING_URI: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** The registered model's name in MLflow. */
  CHURN_MLFLOW_MODEL: z.string().min(1).default('churn'),
  /** A secret: signs the model and the uploads (HMAC-SHA256). */
  MODEL_SIGNING_KEY: z.string().optional(),
});

export interface ChurnSettings {
  trainingData: string;
  scoringData: string;
  maxRejectedFraction: number;
  gate: { minAuc: number; minAccuracy: number };
  decisionThreshold: number;
  scoringBatchSize: number;
  scoringConcurrency: number;
  trainer: 'typescript' | 'python';
  python: string;
  modelStoreUrl: string | null;
  mlflow: { trackingUri: string; model: string } | null;
  signingKey: string | null;
}

/** The settings in `env`; an unset or empty variable takes its default. Throws one line per bad variable. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): ChurnSettings {
  const given = Object.fromEntries(
    Object.keys(SettingsSchema.shape)
      .map((name) => [name, env[name]?.trim()] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = SettingsSchema.safeParse(given);
  if (!parsed.success) {
    // Values are not repeated: a URL or a key may hold a credential.
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new TypeError(`invalid settings: ${problems.join('; ')}`);
  }
  const s = parsed.data;
  return {
    trainingData: s.CHURN_TRAINING_DATA,
    scoringData: s.CHURN_SCORING_DATA,
    maxRejectedFraction: s.CHURN_MAX_REJECTED_FRACTION,
    gate: { minAuc: s.CHURN_MIN_AUC, minAccuracy: s.CHURN_MIN_ACCURACY },
    decisionThreshold: s.CHURN_DECISION_THRESHOLD,
    scoringBatchSize: s.CHURN_SCORING_BATCH_SIZE,
    scoringConcurrency: s.CHURN_SCORING_CONCURRENCY,
    trainer: s.CHURN_TRAINER,
    python: s.CHURN_PYTHON,
    modelStoreUrl: s.MODEL_STORE_URL ?? null,
    mlflow: s.MLFLOW_TRACKING_URI ? { trackingUri: s.MLFLOW_TRACKING_URI, model: s.CHURN_MLFLOW_MODEL } : null,
    signingKey: s.MODEL_SIGNING_KEY ?? null,
  };
}
