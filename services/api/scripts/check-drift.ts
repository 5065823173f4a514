#!/usr/bin/env node
// `npm run db:check`: fails when the migrations and src/db/schema.ts disagree (see schema-drift.ts).
import * as schema from '../src/db/schema.js';
import { journalProblems, schemaDrift } from './schema-drift.js';

const problems = [...journalProblems(), ...(await schemaDrift({ schema }))];
if (problems.length > 0) {
  console.error('db:check: the migrations and src/db/schema.ts disagree:');
  for (const problem of problems) console.error(`  ${problem}`);
  console.error('Write the migration (npm run db:migration -w @outpost/api -- <name>) and change schema.ts to match it.');
  process.exit(1);
}
console.log('db:check: the migrations and schema.ts agree');
