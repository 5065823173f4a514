import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The worker's entry point, run as TypeScript through tsx. */
export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** A worker started from its entry point: the process, everything it printed, and its exit code. */
export interface MainProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * The worker's own entry point in a real process, as `outpost-worker` runs it: `args` on its command
 * line, and `env` for an environment holding nothing else but PATH.
 */
export function runMain(args: string[], env: Record<string, string>): MainProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}
