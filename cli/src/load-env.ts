import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { UsageError } from './cli-error.js';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The environment the CLI reads: the process environment over the variables of a `.env` file in
 * `cwd`, so a variable exported in the shell wins over the file.
 */
export function loadEnv(cwd: string, processEnv: Env): { env: Env; envFile: string | null } {
  const path = join(cwd, '.env');
  if (!existsSync(path)) return { env: { ...processEnv }, envFile: null };
  let fileVars: Record<string, string>;
  try {
    fileVars = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (error) {
    throw new UsageError(`cannot read ${path}`, [(error as Error).message]);
  }
  const env: Record<string, string | undefined> = { ...fileVars };
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined) env[k] = v;
  return { env, envFile: path };
}
