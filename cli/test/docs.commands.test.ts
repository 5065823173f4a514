import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { GLOBAL_OPTIONS } from '../src/command.js';
import { COMMANDS } from '../src/commands/index.js';
import { markdownFiles, REPO } from './docs.support.js';

const SKIP_DIRS = new Set(['node_modules', 'dist', 'results']);

/** The code a markdown file shows: its fenced blocks' lines and its inline code spans. */
function codeOf(markdown: string): string[] {
  const code: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) code.push(line);
    else for (const span of line.matchAll(/`([^`]+)`/g)) if (span[1]) code.push(span[1]);
  }
  return code;
}

const byName = new Map(COMMANDS.map((command) => [command.name, command]));
const outpostBin = join(REPO, 'cli', 'bin', 'outpost.js');

/**
 * The options of each command: its declared ones and the global ones, or, for a command that hands
 * its arguments to another package (`worker start`, `server start`), every `--flag` its `--help` prints.
 */
async function optionsOf(): Promise<Map<string, Set<string>>> {
  const help = async (name: string) => {
    const { stdout } = await promisify(execFile)(process.execPath, [outpostBin, ...name.split(' '), '--help']);
    return ['help', ...[...stdout.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1] as string)];
  };
  const entries = await Promise.all(
    COMMANDS.map(
      async (command) =>
        [
          command.name,
          new Set(command.passthrough ? await help(command.name) : Object.keys({ ...GLOBAL_OPTIONS, ...command.options })),
        ] as const,
    ),
  );
  return new Map(entries);
}

/**
 * The problem with one `outpost …` invocation the docs show, or null: the longest run of its words
 * that names a command must exist, and each `--flag` after it must be one of that command's options
 * or a global one. A placeholder (`<run-id>`, `…`) or a word after the command stops the words.
 */
function problemWith(invocation: string, optionsByCommand: Map<string, Set<string>>): string | null {
  const tokens = invocation.trim().split(/\s+/);
  const words: string[] = [];
  for (const token of tokens) {
    if (!/^[a-z][a-z0-9-]*$/.test(token)) break;
    words.push(token);
  }
  let command: (typeof COMMANDS)[number] | undefined;
  for (let n = words.length; n > 0 && !command; n--) command = byName.get(words.slice(0, n).join(' '));
  if (!command) {
    // `outpost --help`, `outpost help` and `outpost` alone print the command list.
    if (words.length === 0 || words[0] === 'help') return null;
    return `no command "${words.join(' ')}"`;
  }
  const options = optionsByCommand.get(command.name) ?? new Set();
  for (const token of tokens) {
    const flag = /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(token)?.[1];
    if (flag && !options.has(flag)) return `"${command.name}" has no option --${flag}`;
  }
  return null;
}

describe('the commands the docs show', () => {
  let options: Map<string, Set<string>>;
  beforeAll(async () => {
    options = await optionsOf();
  }, 180_000);

  it('finds an unknown command and an unknown option, and passes a known one', () => {
    expect(problemWith('waits list --kind external', options)).toMatch(/no command "waits list"/);
    expect(problemWith('waits ls --kind external', options)).toBeNull();
    expect(problemWith('waits ls --sort newest', options)).toMatch(/has no option --sort/);
    expect(problemWith('runs get <run-id> --json', options)).toBeNull();
    expect(problemWith('worker start --pool gpu --sensors 2', options)).toBeNull();
    expect(problemWith('worker start --pool gpu --sensor 2', options)).toMatch(/has no option --sensor\b/);
  });

  it('are every one a command the CLI has, with options it takes', async () => {
    const files = [...(await markdownFiles(REPO, SKIP_DIRS))];
    expect(files.length).toBeGreaterThan(10);
    const problems: string[] = [];
    let seen = 0;
    for (const file of files) {
      for (const line of codeOf(await readFile(file, 'utf8'))) {
        // Only what a shell would run: up to a comment, a pipe, `&&`, `;` or a closing parenthesis.
        for (const segment of line.split(/\s#\s|\|\|?|&&|;|\)/)) {
          const match = /(?:^|[\s(=$])(?:npx\s+)?outpost\s+(.*)$/.exec(segment);
          if (!match || match[1] === undefined) continue;
          seen += 1;
          const problem = problemWith(match[1], options);
          if (problem) problems.push(`${relative(REPO, file)}: \`outpost ${match[1].trim()}\`: ${problem}`);
        }
      }
    }
    expect(seen).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });
});
