#!/usr/bin/env node
// The `outpost-worker` command of an installed @outpost/worker: `outpost-worker start --pool <name>`,
// the same as `outpost worker start` (src/main.ts).
import { main } from '../dist/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
