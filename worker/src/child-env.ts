/**
 * The environment of a flow process: an allow-list of the worker's variables, the job's own
 * variables, and the run's identity. Anything else the worker holds — its API key, registry
 * credentials, run tokens — is absent by construction rather than removed by a deny-list.
 */

/** Variables a Node program commonly needs to behave like it does in the worker's shell. */
const ALLOWED = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'NODE_OPTIONS',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

export interface ChildEnvInput {
  workerEnv: NodeJS.ProcessEnv;
  /** Extra worker variables the operator chose to pass (`--pass-env`). */
  passEnv: readonly string[];
  /** The job's `env`, secrets resolved. */
  jobEnv: Record<string, string>;
  run: { id: string; attempt: number; flowName: string };
}

export function buildChildEnv(input: ChildEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.workerEnv)) {
    if (value === undefined) continue;
    if (ALLOWED.includes(name) || name.startsWith('LC_') || input.passEnv.includes(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(input.jobEnv)) {
    // The worker's configuration namespace stays the worker's, even if a job sets it to its own value.
    if (!name.startsWith('OUTPOST_')) env[name] = value;
  }
  env.OUTPOST_RUN_ID = input.run.id;
  env.OUTPOST_RUN_ATTEMPT = String(input.run.attempt);
  env.OUTPOST_FLOW_NAME = input.run.flowName;
  return env;
}
