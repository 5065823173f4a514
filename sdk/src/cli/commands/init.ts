import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Name } from '../../contracts/common.js';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { projectFiles } from './init-templates.js';

/** A project name from a directory name: lowercase, URL-safe, starting with a letter or digit. */
function projectNameFrom(dir: string): string {
  const name = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 100);
  return name || 'outpost-project';
}

export const init: Command = {
  name: 'init',
  args: '[dir]',
  summary: 'Create a project: config, an example flow with tasks, its vitest test, package.json',
  positionals: { min: 0, max: 1 },
  usesApi: false,
  options: {
    name: { type: 'string', placeholder: '<project>', description: 'the project name (default: the directory name)' },
  },
  notes: [
    'Never overwrites a file: if one of them exists, nothing is written and the command exits 2 naming it.',
    'Then: npm install, npx vitest run, npx tsx flows/example.ts, and outpost deploy.',
  ],
  async run(ctx) {
    const dir = path.resolve(ctx.cwd, ctx.positionals[0] ?? '.');
    const project = stringOption(ctx.values, 'name') ?? projectNameFrom(dir);
    const checked = Name.safeParse(project);
    if (!checked.success) {
      throw new UsageError(`invalid project name "${project}"`, [
        'use letters, digits, ".", "_" or "-", starting with a letter or digit; pass --name',
      ]);
    }
    const files = projectFiles({ project });
    // All or nothing: a half-scaffolded project is harder to fix than none.
    const existing = Object.keys(files).filter((file) => existsSync(path.join(dir, file)));
    if (existing.length > 0) {
      throw new UsageError(
        `${existing.map((f) => path.join(dir, f)).join(', ')} already exist${existing.length === 1 ? 's' : ''}`,
        ['outpost init never overwrites a file; move it away or choose another directory'],
      );
    }
    for (const [file, text] of Object.entries(files)) {
      const target = path.join(dir, file);
      await mkdir(path.dirname(target), { recursive: true });
      // `wx` fails instead of overwriting a file created since the check.
      await writeFile(target, text, { flag: 'wx' });
      ctx.err(`created ${target}`);
    }
    const relative = path.relative(ctx.cwd, dir);
    const where = relative.startsWith('..') ? dir : relative;
    if (ctx.json) ctx.out(JSON.stringify({ dir, project, files: Object.keys(files) }, null, 2));
    else {
      ctx.out(`created project ${project} in ${dir}`);
      ctx.out('next:');
      if (where) ctx.out(`  cd ${where}`);
      ctx.out('  npm install');
      ctx.out('  npx vitest run             # test the flow like any function');
      ctx.out('  npx tsx flows/example.ts   # run it here, no server needed');
      ctx.out('  npx outpost deploy         # bundle, push to your registry, register the deployment');
    }
    return EXIT.ok;
  },
};
