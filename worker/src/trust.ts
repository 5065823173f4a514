import { createHash } from 'node:crypto';
import {
  canonicalJson,
  DeploymentSignatureError,
  type DeploymentStatement,
  statementMismatch,
  type TrustKey,
  verifyDeploymentSignature,
} from '@outpost/sdk/signing';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/*
 * What a worker with trust keys (`--trust-key`) checks before any code of a claim runs: that the
 * deployment version carries a signature by one of its keys, over exactly the flow, deployment,
 * pool, source, entrypoint and job variables the control plane handed over, and that the run's
 * parameters satisfy the parameter schema the customer signed (not the control plane's copy).
 * Runs, retries, reproductions, child runs, backfills, sensor ticks and deferred-job polls all reach
 * code through here (prepare.ts, bundle-process.ts); Kubernetes pods are started only from a
 * prepared run. A worker without trust keys trusts the control plane, as it says once at start.
 */

/** What a claim says will run: a run's, a sensor tick's or a deferred-job poll's deployment. */
export interface ClaimedCode {
  /** Absent from the claims of older servers: a worker with trust keys then refuses. */
  flowName?: string | undefined;
  name?: string | undefined;
  source: string;
  entrypoint: string;
  jobVariables: Record<string, unknown>;
  signature?: string | null | undefined;
}

export type TrustVerdict =
  | { kind: 'trusted'; statement: DeploymentStatement | null; kid: string | null }
  | { kind: 'refused'; reason: string };

/**
 * Checks a claim against the worker's trust keys and pool. `parameters`, when given, are checked
 * against the signed parameter schema. Never throws: a refusal carries the sentence that names what
 * did not verify, fit for a FAILED state (it holds no secret: only field names and key ids).
 */
export async function checkClaimedCode(
  code: ClaimedCode,
  trust: { keys: readonly TrustKey[]; pool: string },
  parameters?: Record<string, unknown> | null,
): Promise<TrustVerdict> {
  if (trust.keys.length === 0) return { kind: 'trusted', statement: null, kid: null };
  let verified: { kid: string; statement: DeploymentStatement };
  try {
    verified = await verifyDeploymentSignature(code.signature, trust.keys);
  } catch (error) {
    if (!(error instanceof DeploymentSignatureError)) throw error;
    return { kind: 'refused', reason: `${error.message}; this worker runs only deployments signed by its --trust-key keys` };
  }
  const { statement, kid } = verified;
  if (code.flowName === undefined || code.name === undefined) {
    return {
      kind: 'refused',
      reason: 'the control plane did not say which deployment this is, so its signature cannot be matched to it',
    };
  }
  const mismatch = statementMismatch(statement, {
    flowName: code.flowName,
    deployment: code.name,
    workPool: trust.pool,
    source: code.source,
    entrypoint: code.entrypoint,
    jobVariables: code.jobVariables,
  });
  if (mismatch) {
    return {
      kind: 'refused',
      reason: `the control plane handed over another ${mismatch} than the deployment's signature (key ${kid}) names`,
    };
  }
  if (parameters !== undefined && statement.parameterSchema) {
    const problem = parameterProblem(statement.parameterSchema, parameters ?? {});
    if (problem)
      return { kind: 'refused', reason: `the run's parameters do not satisfy the signed parameter schema: ${problem}` };
  }
  return { kind: 'trusted', statement, kid };
}

/** Compiled signed schemas by their canonical JSON's hash: a deployment's runs share one. */
const validators = new Map<string, ValidateFunction>();
const MAX_VALIDATORS = 64;

// Formats are left to the flow's own schema (the runtime checks its zod schema at start); this
// check is about types, required fields and bounds a changed control-plane copy could loosen.
const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });

function parameterProblem(schema: Record<string, unknown>, parameters: Record<string, unknown>): string | null {
  const key = createHash('sha256').update(canonicalJson(schema)).digest('hex');
  let validate = validators.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      return `the signed schema does not compile (${(error as Error).message.slice(0, 200)})`;
    }
    if (validators.size >= MAX_VALIDATORS) validators.delete(validators.keys().next().value as string);
    validators.set(key, validate);
  }
  if (validate(parameters)) return null;
  const first = validate.errors?.[0];
  // The path and the rule only: the offending value may be something the flow should not log.
  return first ? `${first.instancePath || '/'} ${first.message ?? 'is invalid'}` : 'invalid';
}
