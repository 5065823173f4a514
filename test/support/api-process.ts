import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { repoRoot } from './processes.js';

export const apiMain = path.join(repoRoot, 'services/api/dist/main.js');
/** util-linux prlimit: runs a command with other resource limits (it execs, so the pid is the command's). */
const PRLIMIT = '/usr/bin/prlimit';

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  /** Printed only by the first server on a fresh database. */
  ownerKey: string | null;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful) and wait; SIGKILL when it does not exit within `ms`. */
  stop(ms?: number): Promise<void>;
}

/**
 * `outpost server start` as a real process on 127.0.0.1 and a free port (or `port`), against `databaseUrl`,
 * with exactly the environment given (plus PATH). Resolves once it prints its URL (and, with
 * `expectOwnerKey`, the owner key a fresh database gets). With `openFilesLimit`, the process runs
 * under that limit of open files (soft and hard), through prlimit.
 */
export async function startApiProcess(
  databaseUrl: string,
  env: Record<string, string> = {},
  options: { expectOwnerKey?: boolean; timeoutMs?: number; port?: number; openFilesLimit?: number } = {},
): Promise<ApiProcess> {
  const port = String(options.port ?? 0);
  const command = [process.execPath, apiMain, 'server', 'start', '--host', '127.0.0.1', '--port', port];
  const limit = options.openFilesLimit;
  const argv = limit === undefined ? command : [PRLIMIT, `--nofile=${limit}:${limit}`, ...command];
  const child = spawn(argv[0] as string, argv.slice(1), {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, OUTPOST_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const changed = new Set<() => void>();
  const onData = (d: Buffer) => {
    text += d.toString('utf8');
    for (const f of changed) f();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const stop = async (ms = 15_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    await exited;
    clearTimeout(timer);
  };
  const pattern = options.expectOwnerKey
    ? /Outpost API: (http:\/\/\S+)\n[\s\S]*Owner API key \(shown once, store it now\): (\S+)\n/
    : /Outpost API: (http:\/\/\S+)\n/;
  try {
    const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = text.match(pattern);
        if (m) done(() => resolve(m));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`the API did not start; output:\n${text}`))),
        options.timeoutMs ?? 60_000,
      );
      const onExit = () => done(() => reject(new Error(`the API exited while starting; output:\n${text}`)));
      const done = (then: () => void) => {
        clearTimeout(timer);
        changed.delete(check);
        child.off('exit', onExit);
        then();
      };
      changed.add(check);
      child.once('exit', onExit);
      check();
    });
    return {
      child,
      url: match[1] as string,
      ownerKey: match[2] ?? null,
      output: () => text,
      exited,
      stop,
    };
  } catch (error) {
    await stop(1000);
    throw error;
  }
}
