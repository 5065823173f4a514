#!/usr/bin/env node
import { runCli } from './app.js';

let interrupted: Promise<string> | null = null;

// Installed only by commands that shut down in order (dev, watch): the first SIGINT/SIGTERM
// resolves the promise, a second one means the user wants out now. Other commands keep Node's
// default, where Ctrl-C ends the process at once.
function interrupts(): Promise<string> {
  interrupted ??= new Promise<string>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) process.exit(130);
      signalled = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return interrupted;
}

// `outpost logs <id> | head` closes the pipe early; that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  tty: { out: process.stdout.isTTY === true, err: process.stderr.isTTY === true },
  interrupts,
  writeErr: (chunk) => process.stderr.write(chunk),
  columns: () => process.stderr.columns,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
