import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Api } from './api.js';
import { type CommandInfo, loadCatalog } from './catalog.js';
import { CliError, EXIT, UsageError } from './cli-error.js';
import { animates, colorsFor } from './colors.js';
import type { CommandContext, OptionSpecs, OptionValues, Output } from './command.js';
import { GLOBAL_OPTIONS, positionalRange, stringOption } from './command.js';
import { completions } from './completion.js';
import { commandHelp, groupHelp, rootHelp } from './help.js';
import { json as toJson } from './json.js';
import { type Env, loadEnv } from './load-env.js';
import { cliVersion } from './packages.js';
import { SpinnerHost } from './spinner.js';
import { closest } from './suggest.js';

export interface AppOptions extends Output {
  /** Whether stdout and stderr are terminals (colours). */
  tty?: { out: boolean; err: boolean };
  /** Raw writes to stderr, for a spinner; without it, no spinner is drawn. */
  writeErr?(chunk: string): void;
  /** The terminal's width, when stderr is one. */
  columns?(): number | undefined;
  cwd: string;
  env: Env;
  interrupts(onAgain?: (signal: string) => void): Promise<string>;
}

/** Runs one CLI invocation and returns its exit code. Never throws. */
export async function runCli(argv: readonly string[], options: AppOptions): Promise<number> {
  let api: Api | null = null;
  let spinners: SpinnerHost | null = null;
  try {
    const { leading, rest } = splitLeadingGlobals(argv);
    const catalog = await loadCatalog();
    // What the shell completion scripts call on each Tab: `__complete <words before> <current>`.
    if (rest[0] === '__complete') {
      for (const word of completions(catalog.commands, rest.slice(1))) options.out(word);
      return EXIT.ok;
    }
    const match = findCommand(catalog.commands, rest);
    if (!match) return reportUnknown(catalog.commands, rest, options, options.env);
    const { command: info, args } = match;
    const { env } = loadEnv(options.cwd, options.env);
    // Handed-over commands parse their own options (and answer their own --help).
    if (info.passthrough)
      return await (await catalog.load(info)).run(makeContext({}, [], [...leading, ...args], options, env, notApi));
    const command = info;
    const specs: OptionSpecs = {
      ...(command.usesApi === false ? { help: GLOBAL_OPTIONS.help!, json: GLOBAL_OPTIONS.json! } : GLOBAL_OPTIONS),
      ...command.options,
    };
    const { values, positionals } = parse(specs, [...leading, ...args]);
    if (values.help === true) {
      for (const line of commandHelp(command)) options.out(line);
      return EXIT.ok;
    }
    const range = positionalRange(command);
    if (positionals.length < range.min)
      throw new UsageError(`missing argument: outpost ${command.name} ${command.args ?? ''}`.trim(), ['see --help']);
    if (positionals.length > range.max) throw new UsageError(`unexpected argument "${positionals[range.max]}"`, ['see --help']);
    const json = values.json === true;
    // Imported only now: the API client and its settings bring the contracts' schemas (zod), which
    // parsing, --help and completion never need.
    const [implementation, { Api }, { resolveApiSettings }] = await Promise.all([
      catalog.load(info),
      import('./api.js'),
      import('./settings.js'),
    ]);
    spinners = new SpinnerHost({
      write: options.writeErr ?? (() => undefined),
      enabled: options.writeErr !== undefined && animates(options.tty?.err ?? false, env, json),
      colors: colorsFor(options.tty?.err ?? false, env, json),
      ...(options.columns ? { columns: options.columns } : {}),
    });
    const ctx = makeContext(
      values,
      positionals,
      args,
      options,
      env,
      () => {
        api ??= new Api(
          resolveApiSettings({ apiUrl: stringOption(values, 'api-url'), apiKey: stringOption(values, 'api-key') }, env),
        );
        return api;
      },
      spinners,
    );
    return await implementation.run(ctx);
  } catch (error) {
    spinners?.stop();
    return report(error, options);
  } finally {
    spinners?.stop();
    if (api) await (api as Api).close().catch(() => undefined);
  }
}

function notApi(): never {
  throw new CliError('this command does not call the API', EXIT.failed);
}

function makeContext(
  values: OptionValues,
  positionals: string[],
  rawArgs: string[],
  options: AppOptions,
  env: Env,
  api: () => Api,
  spinners: SpinnerHost | null = null,
): CommandContext {
  const json = values.json === true;
  const out = spinners ? (line: string) => spinners.line(line, options.out) : options.out;
  return {
    values,
    positionals,
    rawArgs,
    color: { out: colorsFor(options.tty?.out ?? false, env, json), err: colorsFor(options.tty?.err ?? false, env, json) },
    json,
    cwd: options.cwd,
    env,
    api,
    interrupts: options.interrupts,
    spinner: (text) => spinners?.start(text) ?? { animating: false, update() {}, stop() {} },
    result(value, text) {
      if (json) out(toJson(value));
      else for (const line of typeof text === 'string' ? [text] : text) out(line);
      return EXIT.ok;
    },
    out,
    err: spinners ? (line) => spinners.line(line, options.err) : options.err,
  };
}

function isHelp(arg: string): boolean {
  return arg === '--help' || arg === '-h';
}

/** Lets `outpost --api-url X runs ls` work: global options may come before the command words. */
function splitLeadingGlobals(argv: readonly string[]): { leading: string[]; rest: string[] } {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0]! : null;
    const spec = name ? GLOBAL_OPTIONS[name] : undefined;
    if (!spec || name === 'help') break;
    leading.push(arg);
    if (spec.type === 'string' && !arg.includes('=')) {
      if (i + 1 < argv.length) leading.push(argv[i + 1]!);
      i += 2;
    } else i += 1;
  }
  return { leading, rest: argv.slice(i) };
}

function findCommand(commands: readonly CommandInfo[], argv: readonly string[]): { command: CommandInfo; args: string[] } | null {
  let best: { command: CommandInfo; words: number } | null = null;
  for (const command of commands) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.words)) best = { command, words: words.length };
  }
  return best ? { command: best.command, args: argv.slice(best.words) } : null;
}

function reportUnknown(commands: readonly CommandInfo[], argv: readonly string[], options: AppOptions, env: Env): number {
  const c = colorsFor(options.tty?.err ?? false, env, false);
  const first = argv[0];
  if (first === undefined) {
    for (const line of rootHelp(commands)) options.err(line);
    return EXIT.usage;
  }
  if (isHelp(first) || first === 'help') {
    for (const line of rootHelp(commands)) options.out(line);
    return EXIT.ok;
  }
  if (first === '--version' || first === '-v') {
    options.out(cliVersion());
    return EXIT.ok;
  }
  const group = commands.filter((c) => c.name.split(' ')[0] === first);
  if (group.length === 0) {
    const guess = closest(first, new Set(commands.map((c) => c.name.split(' ')[0]!)));
    options.err(`${c.red('error:')} unknown command: ${first}${guess ? ` (did you mean \`outpost ${guess}\`?)` : ''}`);
    options.err('  run `outpost --help` for the list of commands');
    return EXIT.usage;
  }
  if (argv.slice(1).some(isHelp)) {
    for (const line of groupHelp(first, group)) options.out(line);
    return EXIT.ok;
  }
  if (argv[1] !== undefined) {
    const guess = closest(
      argv[1],
      group.map((c) => c.name.split(' ')[1] ?? ''),
    );
    options.err(
      `${c.red('error:')} unknown command: outpost ${first} ${argv[1]}${guess ? ` (did you mean \`outpost ${first} ${guess}\`?)` : ''}\n`,
    );
  }
  for (const line of groupHelp(first, group)) options.err(line);
  return EXIT.usage;
}

function parse(specs: OptionSpecs, args: string[]): { values: OptionValues; positionals: string[] } {
  const config: ParseArgsConfig['options'] = {};
  for (const [name, spec] of Object.entries(specs)) {
    config[name] = {
      type: spec.type,
      ...(spec.multiple ? { multiple: true } : {}),
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  try {
    const parsed = parseArgs({ args, options: config, allowPositionals: true, strict: true });
    return { values: parsed.values as OptionValues, positionals: parsed.positionals };
  } catch (error) {
    const message = cleanParseError((error as Error).message);
    const unknown = /^Unknown option '--([^']+)'/.exec(message)?.[1];
    const guess = unknown === undefined ? null : closest(unknown, Object.keys(specs));
    throw new UsageError(guess ? `${message} (did you mean --${guess}?)` : message, ['see --help']);
  }
}

/** parseArgs messages carry advice for the programmer ("To specify a positional argument…"); keep the first sentence. */
function cleanParseError(message: string): string {
  return message.split('. ')[0]!.replace(/\.$/, '');
}

function report(error: unknown, options: AppOptions): number {
  const debug = options.env.OUTPOST_DEBUG === '1';
  const c = colorsFor(options.tty?.err ?? false, options.env, false);
  if (error instanceof CliError) {
    options.err(`${c.red('error:')} ${error.message}`);
    for (const line of error.details) options.err(`  ${line}`);
    if (debug && error.stack) options.err(error.stack);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  options.err(`${c.red('error:')} ${message}`);
  if (debug && error instanceof Error && error.stack) options.err(error.stack);
  else options.err('  (set OUTPOST_DEBUG=1 for a stack trace)');
  return EXIT.failed;
}
