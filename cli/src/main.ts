#!/usr/bin/env node
import { runCli } from './app.js';

let interrupted: Promise<string> | null = null;
let hurry: ((signal: string) => void) | null = null;

// Installed only by commands that shut down in order (dev, watch): the first SIGINT/SIGTERM
// resolves the promise. A second one means the user wants out sooner: `onAgain` hears it when the
// command gave one (it still stops in order, faster), otherwise, or at a third, the process exits.
// Other commands keep Node's default, where Ctrl-C ends the process at once.
function interrupts(onAgain?: (signal: string) => void): Promise<string> {
  if (onAgain) hurry = onAgain;
  interrupted ??= new Promise<string>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) resolve(signal);
      else if (signals === 2 && hurry) hurry(signal);
      else process.exit(130);
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
