import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isStartupVariable, startupVariableMessage } from '@outpost/sdk/contracts';
import type { SecretSourceKind } from './options.js';

/**
 * Resolves a deployment's job variables into the environment of a flow process.
 *
 * Deployments carry secret *references* only (`{ "$secret": "DB_PASSWORD" }`); the value is read
 * here, inside the customer's network — from the worker's environment, a secrets directory or a
 * secrets command — so it never crosses the control plane. The resolved values are returned too, so
 * every line that leaves can be redacted against them.
 */

export class JobConfigError extends Error {
  override readonly name = 'JobConfigError';
}

export interface ResolvedJobEnv {
  /** Variables for the flow process, secrets already resolved. */
  env: Record<string, string>;
  /** The resolved secret values, for redaction. */
  secretValues: string[];
  /**
   * `jobVariables.waitHoldSeconds`: how long a pending wait holds the flow's process before the run
   * suspends (the SDK reads it as `OUTPOST_WAIT_HOLD_SECONDS`, which only the worker sets); null when
   * the deployment does not say, and the SDK's default (60 s) applies.
   */
  waitHoldSeconds: number | null;
}

/** The longest hold a deployment may ask for: a day. Longer than that, a run holds a worker slot for nothing. */
export const MAX_WAIT_HOLD_SECONDS = 86_400;

function waitHoldSecondsOf(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_WAIT_HOLD_SECONDS) {
    throw new JobConfigError(
      `job variable waitHoldSeconds must be a number of seconds from 0 to ${MAX_WAIT_HOLD_SECONDS}, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export interface SecretSettings {
  /** Where to look, first hit wins. */
  order: readonly SecretSourceKind[];
  /** One file per secret, named for it. */
  dir: string | null;
  /** argv; `{name}` in any argument is replaced by the secret's name, else the name is appended. */
  command: readonly string[] | null;
  timeoutMs: number;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** One path component: no separators, no leading dot (so neither `..` nor Kubernetes' `..data`). */
const SECRET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;
/** A secrets command printing more than this is misconfigured; its output is not kept. */
const MAX_COMMAND_OUTPUT = 1024 * 1024;

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

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new JobConfigError(
      `secret reference "${name.slice(0, 100)}" is not a valid secret name (letters, digits, _ . -, not starting with a dot)`,
    );
  }
  if (isReservedSecretName(name)) {
    throw new JobConfigError(`secret "${name}" is reserved for the worker's own configuration and is never given to flows`);
  }
}

/** Looks a secret up by name in the worker's environment only; throws a message fit for a run's FAILED state. */
export function resolveSecret(name: string, workerEnv: NodeJS.ProcessEnv): string {
  checkName(name);
  const value = ENV_NAME.test(name) ? workerEnv[name] : undefined;
  if (value === undefined) throw new JobConfigError(`secret "${name}" is not set in the worker's environment`);
  return value;
}

/**
 * Looks secrets up in the configured sources, in order. A source that does not have the secret
 * says why; a secret no source has fails the run with a message naming the secret and each reason —
 * never a value.
 */
export class SecretResolver {
  constructor(
    private readonly settings: SecretSettings,
    private readonly workerEnv: NodeJS.ProcessEnv,
  ) {}

  async resolve(name: string): Promise<string> {
    checkName(name);
    const misses: string[] = [];
    for (const source of this.settings.order) {
      const found =
        source === 'env' ? this.fromEnv(name) : source === 'dir' ? await this.fromDir(name) : await this.fromCommand(name);
      if (typeof found === 'string') return found;
      misses.push(found.miss);
    }
    throw new JobConfigError(`secret "${name}" was not found on the worker (${misses.join('; ')})`);
  }

  private fromEnv(name: string): string | { miss: string } {
    const value = ENV_NAME.test(name) ? this.workerEnv[name] : undefined;
    return value ?? { miss: "not set in the worker's environment" };
  }

  private async fromDir(name: string): Promise<string | { miss: string }> {
    const dir = this.settings.dir;
    if (!dir) return { miss: 'no secrets directory configured' };
    try {
      // Kubernetes mounts each key as a symlink into a timestamped directory; following it is intended.
      const text = await readFile(join(dir, name), 'utf8');
      // Files written by `echo` end in a newline that is not part of the secret.
      return text.replace(/\r?\n$/, '');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { miss: code === 'ENOENT' ? `no file ${name} in ${dir}` : `cannot read ${join(dir, name)} (${code ?? 'error'})` };
    }
  }

  private fromCommand(name: string): Promise<string | { miss: string }> {
    const template = this.settings.command;
    if (!template || template.length === 0) return Promise.resolve({ miss: 'no secrets command configured' });
    const hasPlaceholder = template.some((arg) => arg.includes('{name}'));
    const argv = template.map((arg) => arg.replaceAll('{name}', name));
    if (!hasPlaceholder) argv.push(name);
    const [program, ...args] = argv as [string, ...string[]];
    // The command gets the worker's environment (it may need a vault token) but never the worker's own settings.
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(this.workerEnv)) if (!key.startsWith('OUTPOST_')) env[key] = value;
    return new Promise((resolve) => {
      execFile(
        program,
        args,
        { env, timeout: this.settings.timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_COMMAND_OUTPUT, encoding: 'utf8' },
        (error, stdout) => {
          if (!error) {
            const value = stdout.trim();
            resolve(value === '' ? { miss: `${program} printed nothing` } : value);
            return;
          }
          const failure = error as NodeJS.ErrnoException & { killed?: boolean; code?: unknown; signal?: unknown };
          // Neither stdout nor stderr goes into the message: either could hold part of a value.
          if (failure.killed && failure.signal === 'SIGKILL') {
            resolve({ miss: `${program} did not answer within ${this.settings.timeoutMs / 1000} s` });
          } else if (failure.code === 'ENOENT') resolve({ miss: `secrets command ${program} not found` });
          else if (typeof failure.code === 'number') resolve({ miss: `${program} exited with code ${failure.code}` });
          else resolve({ miss: `${program} failed (${String(failure.code ?? failure.signal ?? 'error')})` });
        },
      );
    });
  }
}

/**
 * Reads `jobVariables.env`: strings, numbers and booleans as given, `{ $secret }` resolved on the
 * worker with `lookup` (each distinct name once); and `jobVariables.waitHoldSeconds`.
 */
export async function resolveJobVariables(
  jobVariables: Record<string, unknown>,
  lookup: (name: string) => string | Promise<string>,
): Promise<ResolvedJobEnv> {
  const waitHoldSeconds = waitHoldSecondsOf(jobVariables.waitHoldSeconds);
  const raw = jobVariables.env;
  if (raw === undefined || raw === null) return { env: {}, secretValues: [], waitHoldSeconds };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new JobConfigError('job variable "env" must be an object of variable names to values');
  }
  const env: Record<string, string> = {};
  const secrets = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    if (!ENV_NAME.test(key)) throw new JobConfigError(`job variable env.${key} is not a valid variable name`);
    if (key.startsWith('OUTPOST_'))
      throw new JobConfigError(`job variable env.${key} is reserved: OUTPOST_ variables are set by the worker`);
    // The API refuses these at deploy; a control plane that stores one anyway is refused here too.
    if (isStartupVariable(key)) throw new JobConfigError(`job variable env.${startupVariableMessage(key)}`);
    if (typeof value === 'string') env[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') env[key] = String(value);
    else if (isSecretRef(value)) {
      let secret = secrets.get(value.$secret);
      if (secret === undefined) {
        secret = await lookup(value.$secret);
        secrets.set(value.$secret, secret);
      }
      env[key] = secret;
    } else {
      throw new JobConfigError(`job variable env.${key} must be a string, number, boolean or { "$secret": "NAME" }`);
    }
  }
  return { env, secretValues: [...new Set(secrets.values())], waitHoldSeconds };
}

/** `resolveJobVariables` with secrets from the worker's environment only. */
export function resolveJobEnv(jobVariables: Record<string, unknown>, workerEnv: NodeJS.ProcessEnv): Promise<ResolvedJobEnv> {
  return resolveJobVariables(jobVariables, (name) => resolveSecret(name, workerEnv));
}
