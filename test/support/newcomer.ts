import { type ChildProcess, type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { expect } from 'vitest';
import { repoRoot, watchOutput } from './processes.js';

/**
 * A commit holding the working tree as it is (tracked and untracked files, minus what .gitignore
 * leaves out), made with a scratch index so the repository's own index and branches are not
 * touched. Cloning it is a fresh clone of exactly what is being tested.
 */
export function snapshotCommit(): string {
  const scratch = mkdtempSync(path.join(tmpdir(), 'outpost-index-'));
  const env = { ...process.env, GIT_INDEX_FILE: path.join(scratch, 'index') };
  const git = (args: string[]) => execFileSync('git', args, { cwd: repoRoot, env, encoding: 'utf8' }).trim();
  try {
    git(['add', '--all']);
    const tree = git(['write-tree']);
    return git(['-c', 'user.name=outpost-test', '-c', 'user.email=test@outpost.invalid', 'commit-tree', tree, '-m', 'snapshot']);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `git clone` of the repository into `dir`, checked out at `commit`. */
export function cloneAt(commit: string, dir: string): void {
  execFileSync('git', ['clone', '--quiet', '--no-checkout', repoRoot, dir], { stdio: 'ignore' });
  execFileSync('git', ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', commit], { cwd: dir, stdio: 'ignore' });
}

/**
 * Who types the commands: the test's own user when empty, else this uid and gid (the test runs as
 * root). With `nice`, every command runs at that niceness (19 is the lowest priority): the walk
 * then takes only the CPU the files beside it leave idle, and times nothing itself.
 */
export interface User {
  uid?: number;
  gid?: number;
  nice?: number;
}

/** A command line in bash, in its own process group, as `user` (at their niceness) in `cwd`. */
function spawnLine(
  line: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  { nice, ...ids }: User,
): ChildProcessByStdio<null, Readable, Readable> {
  const [command, args] = nice === undefined ? ['bash', ['-c', line]] : ['nice', ['-n', String(nice), 'bash', '-c', line]];
  return spawn(command, args, { cwd, env, ...ids, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

export interface ShellResult {
  code: number | null;
  output: string;
}

/**
 * Runs one command line the way a person types it into bash, in `cwd`, and collects its output.
 * `env` is the terminal's environment.
 */
export function sh(
  line: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  user: User = {},
  timeoutMs = 600_000,
): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawnLine(line, cwd, env, user);
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A long-running command line started in its own process group, as a terminal's foreground job. */
export interface Job {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Ctrl-C: SIGINT to the whole process group, then the exit. */
  interrupt(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startJob(line: string, cwd: string, env: NodeJS.ProcessEnv, user: User = {}): Job {
  const child = spawnLine(line, cwd, env, user);
  const { exited, output, waitFor } = watchOutput(child);
  return {
    child,
    output,
    waitFor,
    async interrupt() {
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, 'SIGINT');
      return exited;
    },
  };
}

/** Ctrl-C to a job, and SIGKILL to its process group if it has not ended 15 s later (a test's clean-up). */
export async function stopJob(job: Job): Promise<void> {
  const stopped = job.interrupt();
  const timer = setTimeout(() => {
    if (job.child.pid && job.child.exitCode === null) process.kill(-job.child.pid, 'SIGKILL');
  }, 15_000);
  await stopped.catch(() => undefined);
  clearTimeout(timer);
}

/**
 * Processes whose working directory or command line lies under `dir` (the clone, the project):
 * after Ctrl-C none may be left, Postgres and flow processes included.
 */
export function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cwd.startsWith(dir) || cmdline.includes(dir)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** A markdown file's section under `heading` (a line of its own), up to the next heading of that level. */
export function markdownSection(markdown: string, file: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  expect(start, `${file} should have a "${heading}" section`).toBeGreaterThanOrEqual(0);
  const end = markdown.indexOf(`\n${heading.split(' ')[0]} `, start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

/** The lines of each ```bash block in `markdown`, as typed: one array a block, comments and blank lines left out. */
export function bashBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter((line) => line !== ''),
  );
}
