/**
 * Resolves a deployment's job variables into the environment of a flow process.
 *
 * Deployments carry secret *references* only (`{ "$secret": "DB_PASSWORD" }`); the value is read
 * here, from the worker's own environment, so it never crosses the control plane. The resolved
 * values are also returned so every log line can be redacted against them.
 */

export class JobConfigError extends Error {
  override readonly name = 'JobConfigError';
}

export interface ResolvedJobEnv {
  /** Variables for the flow process, secrets already resolved. */
  env: Record<string, string>;
  /** The resolved secret values, for redaction. */
  secretValues: string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Variables that configure the worker itself carry its API key and registry credentials; a
 * deployment that could reference them would hand the worker's own credentials to flow code.
 */
function isReservedSecretName(name: string): boolean {
  return name.startsWith('OUTPOST_');
}

function isSecretRef(value: unknown): value is { $secret: string } {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { $secret?: unknown }).$secret === 'string'
  );
}

/** Looks a secret up by name in the worker's environment; throws a message fit for a run's FAILED state. */
export function resolveSecret(name: string, workerEnv: NodeJS.ProcessEnv): string {
  if (!ENV_NAME.test(name)) throw new JobConfigError(`secret reference "${name}" is not a valid variable name`);
  if (isReservedSecretName(name)) {
    throw new JobConfigError(`secret "${name}" is reserved for the worker's own configuration and is never given to flows`);
  }
  const value = workerEnv[name];
  if (value === undefined) throw new JobConfigError(`secret "${name}" is not set in the worker's environment`);
  return value;
}

/** Reads `jobVariables.env`: strings, numbers and booleans as given, `{ $secret }` resolved locally. */
export function resolveJobEnv(jobVariables: Record<string, unknown>, workerEnv: NodeJS.ProcessEnv): ResolvedJobEnv {
  const raw = jobVariables.env;
  if (raw === undefined || raw === null) return { env: {}, secretValues: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new JobConfigError('job variable "env" must be an object of variable names to values');
  }
  const env: Record<string, string> = {};
  const secretValues: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!ENV_NAME.test(key)) throw new JobConfigError(`job variable env.${key} is not a valid variable name`);
    if (key.startsWith('OUTPOST_'))
      throw new JobConfigError(`job variable env.${key} is reserved: OUTPOST_ variables are set by the worker`);
    if (typeof value === 'string') env[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') env[key] = String(value);
    else if (isSecretRef(value)) {
      const secret = resolveSecret(value.$secret, workerEnv);
      env[key] = secret;
      secretValues.push(secret);
    } else {
      throw new JobConfigError(`job variable env.${key} must be a string, number, boolean or { "$secret": "NAME" }`);
    }
  }
  return { env, secretValues };
}
