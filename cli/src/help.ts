import type { CommandInfo } from './catalog.js';
import type { OptionSpec } from './command.js';
import { GLOBAL_OPTIONS } from './command.js';

export function rootHelp(commands: readonly CommandInfo[]): string[] {
  const width = Math.max(...commands.map((c) => usageHead(c).length));
  return [
    'Usage: outpost <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${usageHead(c).padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Configuration comes from flags, then OUTPOST_* environment variables, then a .env file in the current directory.',
    'Exit codes: 0 ok, 1 failed (or the run did not complete), 2 usage error, 3 API or registry unreachable or credentials refused.',
    'Run `outpost <command> --help` for a command’s options.',
  ];
}

export function groupHelp(group: string, commands: readonly CommandInfo[]): string[] {
  const width = Math.max(...commands.map((c) => usageHead(c).length));
  return [`Usage: outpost ${group} <command>`, '', ...commands.map((c) => `  ${usageHead(c).padEnd(width)}  ${c.summary}`)];
}

export function commandHelp(command: CommandInfo): string[] {
  const lines = [`Usage: outpost ${usageHead(command)} [options]`, '', command.summary];
  const own = command.options ?? {};
  if (Object.keys(own).length > 0) lines.push('', 'Options:', ...optionLines(own));
  if (command.usesApi !== false) lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  else lines.push('', 'Options:', ...optionLines({ json: GLOBAL_OPTIONS.json!, help: GLOBAL_OPTIONS.help! }));
  if (command.notes?.length) lines.push('', ...command.notes);
  return lines;
}

function usageHead(command: CommandInfo): string {
  return command.args ? `${command.name} ${command.args}` : command.name;
}

function optionLines(specs: Record<string, OptionSpec>): string[] {
  const heads = Object.entries(specs).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '';
    const value = spec.type === 'string' ? ` ${spec.placeholder ?? '<value>'}` : '';
    return `${short}--${name}${value}`;
  });
  const width = Math.max(...heads.map((h) => h.length));
  return Object.values(specs).map(
    (spec, i) => `  ${heads[i]!.padEnd(width)}  ${spec.description}${spec.multiple ? ' (repeatable)' : ''}`,
  );
}
