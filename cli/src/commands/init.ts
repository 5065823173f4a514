import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Name } from '@outpost/sdk/contracts';
import type { Command, CommandContext } from '../command.js';
import { stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { cliVersion, outpostCheckout, sdkDir, sdkPackage } from '../packages.js';
import { hasOwnCode, installCommand, mergePackageJson } from './init-existing.js';
import { type ProjectVersions, projectFiles } from './init-templates.js';

/** The pool a project targets when no running platform says otherwise. */
const DEFAULT_POOL = 'default';

/** Tool versions for a project made from the registry packages (a checkout uses its own). */
const TOOL_VERSIONS = { typescript: '^5.9.3', vitest: '^4.1.12', tsx: '^4.23.15', typesNode: '^20.19.43' };

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
  summary:
    'Create a project, or add Outpost to an existing one: config, an example flow with tasks, its vitest test, package.json',
  options: {
    name: { type: 'string', placeholder: '<project>', description: 'the project name (default: the directory name)' },
    pool: {
      type: 'string',
      placeholder: '<pool>',
      description: `the work pool the deployment targets (default: one a live worker polls, else "${DEFAULT_POOL}")`,
    },
    'skip-install': {
      type: 'boolean',
      description: 'in an existing project, do not install the packages it adds (print the command instead)',
    },
    'sdk-version': {
      type: 'string',
      placeholder: '<range>',
      description: 'depend on @outpost/sdk and @outpost/cli from the npm registry at this version (default: this copy)',
    },
  },
  notes: [
    'Never overwrites a file. In a directory without a package.json, if one of its files exists, nothing is written and the command exits 2 naming it.',
    "In an existing project (a package.json there), it writes only the files that are missing and names those it skipped, adds its scripts and the packages it needs to package.json without replacing any you have, and installs them with the project's package manager (from its lock file; npm by default).",
    "Run from a clone of the Outpost repository, the project depends on that clone's packages (file: paths), so it installs with no registry package of Outpost's; --sdk-version names published ones instead.",
    'With an API reachable (OUTPOST_API_URL, OUTPOST_API_KEY), the deployment targets a pool that a live worker polls.',
    'Then: npm install, npm test, npm start (the flow, locally), npm run deploy, npm run run.',
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
    const versions = projectVersions(dir, stringOption(ctx.values, 'sdk-version'));
    const pool = stringOption(ctx.values, 'pool') ?? (await livePool(ctx)) ?? DEFAULT_POOL;
    const files = projectFiles({ project, pool, versions });
    if (existsSync(path.join(dir, 'package.json'))) return await initExisting(ctx, dir, project, pool, files);
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
    const checkout = outpostCheckout();
    if (checkout && isInside(dir, checkout)) {
      ctx.err(
        `note: ${dir} is inside the Outpost repository; a project of your own belongs next to it (outpost init ../${project})`,
      );
    }
    if (ctx.json) ctx.out(JSON.stringify({ dir, project, pool, files: Object.keys(files) }, null, 2));
    else {
      ctx.out(`created project ${project} in ${dir} (deployment example/default on pool "${pool}")`);
      ctx.out('next:');
      if (where) ctx.out(`  cd ${where}`);
      ctx.out('  npm install');
      ctx.out("  npm test             # the flow's test: a flow is a function, no server needed");
      ctx.out('  npm start            # run the flow here');
      ctx.out('  npm run deploy       # bundle, push to the registry, register the deployment');
      ctx.out('  npm run run          # start a run on a worker and follow it to the end');
    }
    return EXIT.ok;
  },
};

/**
 * What the project's package.json names. From a checkout, the SDK and CLI are this checkout's own
 * (`file:` paths relative to the project) and the tools are the versions the checkout uses, so
 * `npm install` needs nothing of Outpost's from the registry.
 */
/** `outpost init` where a package.json exists: add what is missing, keep everything that is there. */
async function initExisting(
  ctx: CommandContext,
  dir: string,
  project: string,
  pool: string,
  files: Record<string, string>,
): Promise<number> {
  const { 'package.json': template, ...rest } = files;
  const written: string[] = [];
  const skipped: string[] = [];
  for (const [file, text] of Object.entries(rest)) {
    const target = path.join(dir, file);
    if (existsSync(target)) {
      skipped.push(file);
      ctx.err(`skipped ${target} (it exists; left as it is)`);
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text, { flag: 'wx' });
    written.push(file);
    ctx.err(`created ${target}`);
  }
  const pkgPath = path.join(dir, 'package.json');
  const merged = mergePackageJson(readFileSync(pkgPath, 'utf8'), template!, hasOwnCode(dir, new Set(written)));
  if (merged.changed) await writeFile(pkgPath, merged.text);
  for (const name of merged.addedScripts) ctx.err(`added script "${name}" to package.json`);
  for (const name of merged.keptScripts)
    ctx.err(`kept your script "${name}" in package.json (outpost init would have set: ${merged.theirs[name]})`);
  for (const name of merged.addedPackages) ctx.err(`added ${name}@${merged.ranges[name]} to package.json`);
  if (merged.madeEsm)
    ctx.err('set "type": "module" in package.json (the project had no code of its own; the example flow is an ES module)');
  if (!merged.esm)
    ctx.err('note: package.json has no "type": "module"; the example flow is an ES module (left for you to change)');
  const install = installCommand(dir);
  let installed = merged.addedPackages.length === 0;
  if (!installed && ctx.values['skip-install'] !== true) {
    ctx.err(`running ${install.join(' ')} in ${dir}`);
    const child = spawnSync(install[0]!, install.slice(1), { cwd: dir, stdio: ['ignore', 2, 2] });
    installed = child.status === 0;
    if (!installed) ctx.err(`note: ${install.join(' ')} did not succeed${child.error ? ` (${child.error.message})` : ''}`);
  }
  if (ctx.json) {
    ctx.out(
      JSON.stringify(
        {
          dir,
          project,
          pool,
          files: written,
          skipped,
          scripts: { added: merged.addedScripts, kept: merged.keptScripts },
          packages: merged.addedPackages,
          installed,
        },
        null,
        2,
      ),
    );
    return EXIT.ok;
  }
  ctx.out(`added Outpost to ${dir} (deployment example/default on pool "${pool}")`);
  if (skipped.length > 0) ctx.out(`skipped (they exist): ${skipped.join(', ')}`);
  if (merged.keptScripts.length > 0) ctx.out(`kept your scripts: ${merged.keptScripts.join(', ')}`);
  if (!installed) ctx.out(`then install: (cd ${dir} && ${install.join(' ')})`);
  return EXIT.ok;
}

function projectVersions(dir: string, sdkVersion: string | undefined): ProjectVersions {
  const sdk = sdkPackage();
  const zod = sdk.dependencies?.zod ?? '^4.0.0';
  const checkout = outpostCheckout();
  if (sdkVersion !== undefined || !checkout) {
    const range = sdkVersion ?? `^${cliVersion()}`;
    return { sdk: range, cli: range, zod, ...TOOL_VERSIONS };
  }
  const link = (target: string) => `file:${path.relative(dir, target).split(path.sep).join('/') || '.'}`;
  const tools = (
    JSON.parse(readFileSync(path.join(checkout, 'package.json'), 'utf8')) as {
      devDependencies?: Record<string, string>;
    }
  ).devDependencies;
  return {
    sdk: link(sdkDir()),
    cli: link(path.join(checkout, 'cli')),
    zod,
    typescript: tools?.typescript ?? TOOL_VERSIONS.typescript,
    vitest: tools?.vitest ?? TOOL_VERSIONS.vitest,
    tsx: tools?.tsx ?? TOOL_VERSIONS.tsx,
    typesNode: tools?.['@types/node'] ?? TOOL_VERSIONS.typesNode,
  };
}

/**
 * A pool with a live worker on the platform the settings point at: `local` (what `npm start` runs)
 * first, then the first ready one. Null without API settings or when none is ready: the caller
 * falls back to the default pool, and `outpost run` says when nothing polls it.
 */
async function livePool(ctx: CommandContext): Promise<string | null> {
  if (!ctx.env.OUTPOST_API_KEY && ctx.values['api-key'] === undefined) return null;
  try {
    const pools = await ctx.api().call('poolsList', {}, 'cannot list work pools');
    const ready = pools.items.filter((p) => p.status === 'READY').map((p) => p.name);
    return ready.find((name) => name === 'local') ?? ready[0] ?? null;
  } catch (error) {
    ctx.err(`note: could not ask the API which pools have workers (${(error as Error).message}); using "${DEFAULT_POOL}"`);
    return null;
  }
}

function isInside(dir: string, root: string): boolean {
  const relative = path.relative(root, dir);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
