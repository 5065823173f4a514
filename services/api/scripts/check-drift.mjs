#!/usr/bin/env node
// Fails when src/db/schema.ts and the committed migrations disagree: drizzle-kit generates into a
// copy of the migrations folder, and any new file means a change to the schema has no migration yet.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const migrations = join(root, 'src/db/migrations');
const scratch = mkdtempSync(join(tmpdir(), 'outpost-drift-'));
const out = join(scratch, 'migrations');

function listFiles(dir) {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

try {
  cpSync(migrations, out, { recursive: true });
  // drizzle-kit prefixes paths with './', so the config names them relative to the scratch directory it runs in.
  const schema = relative(scratch, join(root, 'src/db/schema.ts'));
  writeFileSync(
    join(scratch, 'drizzle.config.mjs'),
    `export default ${JSON.stringify({ dialect: 'postgresql', schema, out: './migrations' })};\n`,
  );
  const bin = join(dirname(createRequire(import.meta.url).resolve('drizzle-kit')), 'bin.cjs');
  const before = listFiles(out);
  const result = spawnSync(process.execPath, [bin, 'generate', '--config', 'drizzle.config.mjs', '--name', 'drift'], {
    cwd: scratch,
    encoding: 'utf8',
  });
  const output = `${result.stdout}${result.stderr}`;
  const added = listFiles(out).filter((f) => !before.includes(f));
  // drizzle-kit can exit 0 after an error, so success must be positive: either new files or its "no changes" line.
  if (result.status !== 0 || (added.length === 0 && !/No schema changes/i.test(output))) {
    process.stderr.write(output);
    console.error('db:check: drizzle-kit generate failed');
    process.exit(1);
  }
  if (added.length > 0) {
    console.error(`db:check: src/db/schema.ts has changes without a migration (drizzle-kit would add ${added.join(', ')}).`);
    console.error('Run `npm run db:generate -w @outpost/api` and commit the new migration.');
    process.exit(1);
  }
  console.log('db:check: schema and migrations agree');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
