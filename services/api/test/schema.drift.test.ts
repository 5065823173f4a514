import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { afterEach, describe, expect, it } from 'vitest';
import { journalProblems, schemaDrift } from '../scripts/schema-drift.js';
import { MIGRATIONS_DIR } from '../src/db/migrate.js';
import * as schema from '../src/db/schema.js';

const scratchDirs: string[] = [];
afterEach(() => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the committed migrations, plus one more when `extra` is given. */
function migrationsWith(extra?: { tag: string; sql: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-migrations-'));
  scratchDirs.push(dir);
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  if (extra) {
    const journalPath = join(dir, 'meta/_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { idx: number; when: number; tag: string }[] };
    const last = journal.entries.at(-1);
    if (!last) throw new Error('the committed journal is empty');
    journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 1, tag: extra.tag });
    writeFileSync(journalPath, JSON.stringify(journal));
    writeFileSync(join(dir, `${extra.tag}.sql`), extra.sql);
  }
  return dir;
}

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

describe('the drift check between the migrations and schema.ts', () => {
  it('finds none between the committed migrations and schema.ts', async () => {
    expect(journalProblems()).toEqual([]);
    expect(await schemaDrift({ schema })).toEqual([]);
  });

  it('reports a column schema.ts declares that no migration adds', async () => {
    const loopMarks = pgTable('loop_marks', {
      name: text('name').primaryKey(),
      tickedAt: ts('ticked_at').notNull(),
      note: text('note'),
    });
    expect(await schemaDrift({ schema: { ...schema, loopMarks } })).toEqual([
      'column loop_marks.note (text): in schema.ts, not in the migrations',
    ]);
  });

  it('reports a column a migration adds that schema.ts does not declare', async () => {
    const migrationsFolder = migrationsWith({
      tag: '9999_loop_note',
      sql: 'ALTER TABLE "loop_marks" ADD COLUMN "note" text DEFAULT \'\' NOT NULL;',
    });
    expect(await schemaDrift({ schema, migrationsFolder })).toEqual([
      "column loop_marks.note (text NOT NULL DEFAULT ''::text): in the migrations, not in schema.ts",
    ]);
  });

  it('reports a partial index whose predicate differs, a changed default and a dropped check constraint', async () => {
    const migrationsFolder = migrationsWith({
      tag: '9999_changes',
      sql: [
        'DROP INDEX "deployment_schedules_due_idx";',
        'CREATE INDEX "deployment_schedules_due_idx" ON "deployment_schedules" ("next_fill_at") WHERE NOT active;',
        'ALTER TABLE "work_queues" ALTER COLUMN "priority" SET DEFAULT 2;',
        'ALTER TABLE "flow_runs" DROP CONSTRAINT "flow_runs_deployment_version_ck";',
      ].join('--> statement-breakpoint\n'),
    });
    expect(await schemaDrift({ schema, migrationsFolder })).toEqual([
      'column work_queues.priority: the migrations make integer NOT NULL DEFAULT 2; schema.ts says integer NOT NULL DEFAULT 1',
      'constraint flow_runs.flow_runs_deployment_version_ck (CHECK (((deployment_id IS NULL) OR (deployment_version_id IS NOT NULL)))): in schema.ts, not in the migrations',
      'index deployment_schedules_due_idx: the migrations make CREATE INDEX deployment_schedules_due_idx ON public.deployment_schedules USING btree (next_fill_at) WHERE (NOT active); schema.ts says CREATE INDEX deployment_schedules_due_idx ON public.deployment_schedules USING btree (next_fill_at) WHERE active',
    ]);
  });

  it('reports an index schema.ts declares that no migration creates', async () => {
    const loopMarks = pgTable('loop_marks', { name: text('name').primaryKey(), tickedAt: ts('ticked_at').notNull() }, (t) => [
      index('loop_marks_ticked_idx').on(t.tickedAt),
    ]);
    expect(await schemaDrift({ schema: { ...schema, loopMarks } })).toEqual([
      'index loop_marks_ticked_idx (CREATE INDEX loop_marks_ticked_idx ON public.loop_marks USING btree (ticked_at)): in schema.ts, not in the migrations',
    ]);
  });

  it('reports a SQL file the journal does not list, which the migrator would never run', () => {
    const dir = migrationsWith();
    writeFileSync(join(dir, '0017_forgotten.sql'), 'SELECT 1;');
    expect(journalProblems(dir)).toEqual(['0017_forgotten.sql is not in meta/_journal.json']);
  });
});
