import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cliPath = path.join(repoRoot, 'cli/bin/outpost.js');

export interface Spawned {
  child: ChildProcess;
  output(): string;
  /** Resolves when `pattern` appears in stdout+stderr, rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A child's stdout+stderr as one text, its exit, and a wait for a pattern in that text. */
export function watchOutput(child: ChildProcess): Omit<Spawned, 'stop'> {
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    child,
    exited,
    output: () => text,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = text.match(pattern);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${text}`));
        }, timeoutMs);
        const onExit = () => {
          done();
          reject(new Error(`process exited before ${pattern}; output:\n${text}`));
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
  };
}

/** Starts the `outpost` CLI as a real child process with the given environment. */
export function spawnCli(args: string[], env: Record<string, string>, cwd = repoRoot): Spawned {
  return spawnNode(cliPath, args, { HOME: process.env.HOME ?? '', ...env }, cwd);
}

/** Starts `script` with this Node as a real child process: only PATH and `env` in its environment, its output watched. */
export function spawnNode(script: string, args: string[], env: Record<string, string>, cwd: string): Spawned {
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const watched = watchOutput(child);
  return {
    ...watched,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await watched.exited;
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(args: string[], env: Record<string, string>, cwd = repoRoot) {
  const p = spawnCli(args, env, cwd);
  const { code } = await p.exited;
  return { code, output: p.output() };
}
