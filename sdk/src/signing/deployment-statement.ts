import * as z from 'zod';

/*
 * What a customer signs when they deploy: everything that decides what a run executes and with
 * what. A worker started with trust keys runs a claimed run only when its deployment version
 * carries a signature by one of them over a statement equal to what the control plane handed it,
 * so whoever holds the control plane can hold back or reorder work, never change it.
 *
 * Pure functions of plain values: the CLI builds the statement it signs with them, the API checks a
 * signature came with the request it signs, and the worker compares the claim against the signed
 * copy.
 */

/** The statement's type, in the manner of an in-toto predicate type: a new shape gets a new URI. */
export const DEPLOYMENT_STATEMENT_TYPE = 'https://outpost.dev/deployment-statement/v1';

/** The JWS `typ` of a deployment signature, so no other JWS signed by the same key verifies as one. */
export const DEPLOYMENT_SIGNATURE_TYP = 'outpost-deployment+jws';

const JsonRecord = z.record(z.string(), z.unknown());

export const DeploymentStatement = z.strictObject({
  _type: z.literal(DEPLOYMENT_STATEMENT_TYPE),
  /** The flow and deployment it is for: a signature replayed onto another deployment names the wrong one. */
  flowName: z.string(),
  deployment: z.string(),
  /** The work pool its runs may run in. */
  workPool: z.string(),
  /** The pinned source (`oci://…@sha256:…`, `git+…#<sha>`): the digest decides the code. */
  source: z.string(),
  /** The module of the source that defines the flow. */
  entrypoint: z.string(),
  /** Environment, secret mappings, image, pod settings, hold time: everything a job is given. `{}` for none. */
  jobVariables: JsonRecord,
  /** The JSON Schema a run's parameters must satisfy; null when the flow takes none. */
  parameterSchema: JsonRecord.nullable(),
});
export type DeploymentStatement = z.infer<typeof DeploymentStatement>;

/** The fields of a deployment a statement covers, as a deploy request or a claim carries them. */
export interface StatementFields {
  flowName: string;
  deployment: string;
  workPool: string;
  source: string;
  entrypoint: string;
  jobVariables?: Record<string, unknown> | null | undefined;
  parameterSchema?: Record<string, unknown> | null | undefined;
}

/** The statement that signs `fields`. */
export function deploymentStatement(fields: StatementFields): DeploymentStatement {
  return {
    _type: DEPLOYMENT_STATEMENT_TYPE,
    flowName: fields.flowName,
    deployment: fields.deployment,
    workPool: fields.workPool,
    source: fields.source,
    entrypoint: fields.entrypoint,
    jobVariables: fields.jobVariables ?? {},
    parameterSchema: fields.parameterSchema ?? null,
  };
}

/**
 * JSON with object keys sorted at every level and no whitespace: the bytes that are signed, and how
 * two values are compared. Postgres' jsonb reorders keys, so the control plane's copy of the job
 * variables compares equal to the signed copy exactly when it is the same value.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** What each covered field is called in a refusal, in the order they are checked. */
const FIELDS: readonly { key: keyof Omit<DeploymentStatement, '_type'>; label: string }[] = [
  { key: 'flowName', label: 'flow name' },
  { key: 'deployment', label: 'deployment name' },
  { key: 'workPool', label: 'work pool' },
  { key: 'source', label: 'source' },
  { key: 'entrypoint', label: 'entrypoint' },
  { key: 'jobVariables', label: 'job variables' },
  { key: 'parameterSchema', label: 'parameter schema' },
];

/**
 * The first covered field where `actual` differs from what `signed` says, named for a person ("job
 * variables (env.DB_PASSWORD)"), or null when they agree. A field `actual` lacks is not compared:
 * the caller decides which fields it knows (the worker knows all but the parameter schema, which it
 * takes from the signed statement).
 */
export function statementMismatch(signed: DeploymentStatement, actual: Partial<DeploymentStatement>): string | null {
  for (const { key, label } of FIELDS) {
    if (!(key in actual)) continue;
    const want = signed[key] ?? null;
    const got = actual[key] ?? null;
    if (canonicalJson(want) === canonicalJson(got)) continue;
    const where = key === 'jobVariables' ? firstDifference(want, got, '') : null;
    return where ? `${label} (${where})` : label;
  }
  return null;
}

/** The path of the first place two JSON values differ (`env.DB_PASSWORD`), or null at the top. */
function firstDifference(a: unknown, b: unknown, path: string): string | null {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(a) || !isObject(b)) return path || null;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const key of keys) {
    if (canonicalJson(a[key] ?? null) === canonicalJson(b[key] ?? null)) continue;
    return firstDifference(a[key], b[key], path ? `${path}.${key}` : key);
  }
  return path || null;
}
