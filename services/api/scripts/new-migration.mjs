#!/usr/bin/env node
// `npm run db:migration -w @outpost/api -- <name>`: starts the next SQL migration and lists it in the
// journal the migrator reads (a file the journal does not list never runs).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:migration -w @outpost/api -- <name in snake_case>');
  process.exit(2);
}
const folder = resolve(dirname(fileURLToPath(import.meta.url)), '../src/db/migrations');
const journalPath = join(folder, 'meta/_journal.json');
const journal = JSON.parse(readFileSync(journalPath, 'utf8'));
const last = journal.entries.at(-1);
const idx = journal.entries.length;
// Files are numbered after the last one, which is not always its journal index (two files once shared a number).
const tag = `${String(Number.parseInt(last.tag, 10) + 1).padStart(4, '0')}_${name}`;
// The migrator runs, on a database already migrated, only entries later than the last one it applied.
journal.entries.push({ idx, version: last.version, when: Math.max(Date.now(), last.when + 1), tag, breakpoints: true });
writeFileSync(
  join(folder, `${tag}.sql`),
  '-- What this changes and why. The migrator runs the file in pieces split at `--> statement-breakpoint`.\n',
  { flag: 'wx' },
);
writeFileSync(journalPath, JSON.stringify(journal, null, 2));
console.log(`src/db/migrations/${tag}.sql: write the SQL there, change src/db/schema.ts to match, then npm run db:check.`);
