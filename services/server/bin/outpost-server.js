#!/usr/bin/env node
// The `outpost-server` command of an installed @outpost/server: `outpost-server start [options]`
// is `outpost server start`; `outpost-server quota …` and the other operator commands likewise.
import { main } from '../dist/api/index.js';

main(['server', ...process.argv.slice(2)]).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    const cause = error?.cause instanceof Error ? ` (${error.cause.message})` : '';
    process.stderr.write(`outpost server: ${error instanceof Error ? error.message : String(error)}${cause}\n`);
    process.exitCode = 1;
  },
);
