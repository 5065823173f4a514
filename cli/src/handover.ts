import { CliError, EXIT } from './errors.js';
import type { Env } from './settings.js';

/**
 * The control plane: `@outpost/api` in a clone of the repository, else `@outpost/server`, the
 * package published from it (the API bundled with the dashboard).
 */
export const CONTROL_PLANE = ['@outpost/api', '@outpost/server'] as const;

/** `main(argv)` of a package the CLI hands a command over to. */
export type PackageMain = (argv: string[]) => unknown;

/**
 * Imports an optional package: the first of `names` that is installed. The name is a variable so the
 * SDK keeps no dependency on it (the API and worker packages depend on the SDK, not the other way
 * round). When none is installed, the hint names the last, the one published to the registry.
 */
export async function importOptional<T>(names: string | readonly string[], purpose: string): Promise<T> {
  const candidates = typeof names === 'string' ? [names] : names;
  for (const name of candidates) {
    const specifier: string = name;
    try {
      return (await import(specifier)) as T;
    } catch (error) {
      const code = (error as { code?: string }).code;
      const message = (error as Error).message ?? '';
      if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${name}'`)) continue;
      throw error;
    }
  }
  const name = candidates[candidates.length - 1];
  throw new CliError(`${purpose} needs the ${name} package, which is not installed`, EXIT.usage, [
    `install it next to @outpost/cli: npm install ${name}`,
  ]);
}

/**
 * Applies the CLI's configuration order to a package that reads `process.env`: `--api-url` and
 * `--api-key` become OUTPOST_API_URL/OUTPOST_API_KEY, and `.env` fills in what the shell did not
 * set. Returns the arguments without those two flags.
 */
export function exportSettings(args: readonly string[], env: Env, target: NodeJS.ProcessEnv): string[] {
  const rest: string[] = [];
  const flagVars: Record<string, string> = { '--api-url': 'OUTPOST_API_URL', '--api-key': 'OUTPOST_API_KEY' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const variable = flagVars[flag];
    if (!variable) {
      rest.push(arg);
      continue;
    }
    const value = inline ?? args[i + 1];
    if (value === undefined) throw new CliError(`${flag} needs a value`, EXIT.usage);
    if (inline === undefined) i++;
    target[variable] = value;
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined && target[k] === undefined) target[k] = v;
  return rest;
}

export function exitCodeOf(result: unknown): number {
  return typeof result === 'number' ? result : EXIT.ok;
}
