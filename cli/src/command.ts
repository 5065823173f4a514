import type { Api } from './api.js';
import type { Env } from './settings.js';
import type { Spinner } from './spinner.js';
import type { Colors } from './style.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Repeatable: the value is a list. */
  multiple?: boolean;
  short?: string;
  /** Shown in help, e.g. `<key=value>`. */
  placeholder?: string;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Output {
  /** One line of results on stdout (what scripts read). */
  out(line: string): void;
  /** One line of progress or diagnostics on stderr. */
  err(line: string): void;
}

export interface CommandContext extends Output {
  values: OptionValues;
  /** Colours for what goes to stdout (`out`) and stderr (`err`): plain unless that stream is a terminal, never with --json or NO_COLOR. */
  color: { out: Colors; err: Colors };
  positionals: string[];
  /** Arguments after the command words, untouched (for commands that hand over to another package). */
  rawArgs: string[];
  json: boolean;
  /**
   * Prints what a command did and returns its exit code, `EXIT.ok`: with --json the value as JSON on
   * stdout, otherwise `text` (a line, or lines) for people.
   */
  result(value: unknown, text: string | Iterable<string>): number;
  cwd: string;
  /** The process environment over `.env`. */
  env: Env;
  /**
   * A spinner on stderr while the command waits on something slow; it draws only on a terminal
   * (never with --json, NO_COLOR or TERM=dumb), and lines written with `err` meanwhile appear above it.
   */
  spinner(text: string): Spinner;
  /** An API session built from `--api-url`/`--api-key`, then the environment; created on first use. */
  api(): Api;
  /**
   * Takes over SIGINT/SIGTERM and resolves when one arrives, so a long-running command can shut
   * down in order; `onAgain` hears a second one (without it, a second one ends the process).
   * Commands that never call it keep Node's default: Ctrl-C ends them at once.
   */
  interrupts(onAgain?: (signal: string) => void): Promise<string>;
}

export interface Command {
  /** Command words, e.g. `runs ls`. */
  name: string;
  summary: string;
  /**
   * Positional arguments shown in usage, e.g. `<run-id>`; they also say how many the command takes
   * (see positionalRange).
   */
  args?: string;
  /** How many positionals the command takes, where `args` cannot say it (a bound on `<key>...`). */
  positionals?: { min: number; max: number };
  options?: OptionSpecs;
  /** Whether the global API options apply. @default true */
  usesApi?: boolean;
  /** Pass every argument after the command words through unparsed. */
  passthrough?: boolean;
  /** Extra help text: examples, notes. */
  notes?: string[];
  run(ctx: CommandContext): Promise<number>;
}

/**
 * How many positionals a command takes: its own `positionals`, else what its usage line says. Each
 * word of `args` is one argument, `<word>` one that must be given and `[word]` one that may be; a word
 * ending in `...` takes any number more.
 */
export function positionalRange(command: Pick<Command, 'args' | 'positionals'>): { min: number; max: number } {
  if (command.positionals) return command.positionals;
  let min = 0;
  let max = 0;
  for (const word of command.args?.split(/\s+/).filter(Boolean) ?? []) {
    if (!word.startsWith('[')) min += 1;
    max = word.endsWith('...') ? Number.POSITIVE_INFINITY : max + 1;
  }
  return { min, max };
}

export const GLOBAL_OPTIONS: OptionSpecs = {
  'api-url': { type: 'string', placeholder: '<url>', description: 'API base URL (env OUTPOST_API_URL)' },
  'api-key': { type: 'string', placeholder: '<key>', description: 'API key (env OUTPOST_API_KEY)' },
  json: { type: 'boolean', description: 'print machine-readable JSON' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function stringList(values: OptionValues, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

export function booleanOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}
