import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DeploymentSignatureError, parseSigningKey } from '@outpost/sdk/signing';
import type { Command } from '../command.js';
import { booleanOption, stringOption } from '../command.js';
import { type DeployResult, deployProject } from '../deploy-project.js';
import type { DiscoveredAsset } from '../discover.js';
import { UsageError } from '../errors.js';
import { CONFIG_FILE } from '../load-config.js';
import { TypeCheckError } from '../typecheck.js';

export const deploy: Command = {
  name: 'deploy',
  summary: 'Bundle the flows, push them to your registry and register the deployments',
  options: {
    config: { type: 'string', short: 'c', placeholder: '<path>', description: `the project's config (default ./${CONFIG_FILE})` },
    deployment: { type: 'string', short: 'd', placeholder: '<flow/name>', description: 'deploy only this deployment' },
    registry: { type: 'string', placeholder: '<target>', description: "push here instead of the config's registry" },
    'sign-key': {
      type: 'string',
      placeholder: '<file>',
      description: 'sign each deployment with this deploy key (outpost deploy-keys create); default OUTPOST_SIGN_KEY',
    },
    'dry-run': { type: 'boolean', description: 'build and show what would be pushed and registered; push nothing, call no API' },
    'no-typecheck': {
      type: 'boolean',
      description: "deploy without type-checking the entrypoints first (with the project's tsconfig.json)",
    },
  },
  notes: [
    'Registry credentials are your own: OUTPOST_REGISTRY_USERNAME/OUTPOST_REGISTRY_PASSWORD, or ~/.docker/config.json.',
    'Deployments reference the pushed bundle by digest only; the API never receives your code.',
    'Workers started with --trust-key run only deployments signed by that key: sign with --sign-key (docs/security.md).',
    "A redeploy skips the type-check when nothing it read has changed since it last passed: the project's .outpost/typecheck.json keeps their hashes.",
  ],
  async run(ctx) {
    const dryRun = booleanOption(ctx.values, 'dry-run');
    const signKey = await loadSignKey(stringOption(ctx.values, 'sign-key') ?? ctx.env.OUTPOST_SIGN_KEY, ctx.cwd);
    // The config module reads process.env (a registry from OUTPOST_REGISTRY, say); let it see .env too.
    for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined && process.env[k] === undefined) process.env[k] = v;
    // Steps still under way ("building …", "pushing …") show beside the spinner; the rest stay as lines.
    const spinner = ctx.spinner('deploying…');
    const progress = (line: string) => (spinner.animating && line.endsWith('…') ? spinner.update(line) : ctx.err(line));
    const result = await deployProject({
      config: stringOption(ctx.values, 'config') ?? CONFIG_FILE,
      cwd: ctx.cwd,
      env: ctx.env,
      dryRun,
      only: stringOption(ctx.values, 'deployment'),
      registry: stringOption(ctx.values, 'registry'),
      typecheck: !booleanOption(ctx.values, 'no-typecheck'),
      api: dryRun ? null : ctx.api,
      signKey,
      progress,
    })
      .finally(() => spinner.stop())
      .catch((error: unknown) => {
        // Each type error on a line of its own, before the one error line that counts them.
        if (error instanceof TypeCheckError) for (const line of error.diagnostics) ctx.err(line);
        throw error;
      });
    return ctx.result(summarise(result, dryRun), describe(result, dryRun));
  },
};

/**
 * The deploy key from `--sign-key` or OUTPOST_SIGN_KEY: a file's path, or the PEM itself (as a CI
 * system's secret variable holds it). A key that cannot be read stops the deploy before anything
 * is built, in one line.
 */
async function loadSignKey(given: string | undefined, cwd: string): Promise<KeyObject | null> {
  if (given === undefined || given.trim() === '') return null;
  const inline = given.trimStart().startsWith('-----BEGIN');
  const where = inline ? 'OUTPOST_SIGN_KEY' : given;
  let pem = given;
  if (!inline) {
    try {
      pem = await readFile(resolve(cwd, given), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(`--sign-key: cannot read ${given} (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`);
    }
  }
  try {
    return parseSigningKey(pem);
  } catch (error) {
    if (!(error instanceof DeploymentSignatureError)) throw error;
    throw new UsageError(`--sign-key: ${where} ${error.message}`);
  }
}

function summarise(result: DeployResult, dryRun: boolean) {
  return {
    dryRun,
    project: result.project,
    registry: result.registry,
    source: result.source,
    files: result.files,
    deployments: result.deployments.map((d) => ({
      flow: d.flow,
      name: d.name,
      entrypoint: d.entrypoint,
      workPool: d.request.workPool,
      workQueue: d.request.workQueue ?? 'default',
      parameterSchema: d.parameterSchema,
      ...(d.assets ? { assets: d.assets } : {}),
      ...(d.id ? { id: d.id, created: d.created } : {}),
    })),
  };
}

function describe(result: DeployResult, dryRun: boolean): string[] {
  const lines: string[] = [];
  const bytes = result.files.reduce((n, f) => n + f.size, 0);
  if (dryRun) {
    lines.push(`would push ${result.files.length} file(s), ${formatBytes(bytes)}, to ${result.registry}:`);
    for (const f of result.files) lines.push(`  ${f.path}  ${formatBytes(f.size)}`);
  }
  for (const d of result.deployments) {
    const where = `${d.request.workPool}/${d.request.workQueue ?? 'default'}`;
    if (dryRun) lines.push(`would register ${d.flow}/${d.name}: flow ${d.flow} in ${d.entrypoint}, pool ${where}`);
    else lines.push(`${d.created ? 'created' : 'updated'} ${d.flow}/${d.name} (${d.id}) → ${result.source}, pool ${where}`);
    if (d.assets) lines.push(...describeAssets(d.assets, dryRun));
    if (dryRun && !d.assets) {
      lines.push('  parameters:');
      for (const l of JSON.stringify(d.parameterSchema, null, 2).split('\n')) lines.push(`    ${l}`);
    }
  }
  return lines;
}

/** One line per asset: key, upstream, partitions, checks, code version, where it is defined. */
function describeAssets(assets: DiscoveredAsset[], dryRun: boolean): string[] {
  const lines = [`  ${dryRun ? 'would register' : 'registered'} ${assets.length} asset${assets.length === 1 ? '' : 's'}:`];
  for (const a of assets) {
    const parts: string[] = [];
    if (a.deps.length > 0) parts.push(`← ${a.deps.join(', ')}`);
    if (a.partitions) parts.push(`partitions ${describePartitions(a.partitions)}`);
    if (a.checks.length > 0)
      parts.push(`checks ${a.checks.map((c) => `${c.name}${c.blocking ? ' (blocking)' : ''}`).join(', ')}`);
    parts.push(`code version ${a.codeVersion.slice(0, 12)}`);
    if (a.definedAt) parts.push(a.definedAt);
    lines.push(`    ${a.key}  ${parts.join('; ')}`);
  }
  return lines;
}

function describePartitions(p: NonNullable<DiscoveredAsset['partitions']>): string {
  switch (p.kind) {
    case 'time':
      return `${p.cadence} from ${p.start}${p.end ? ` to ${p.end}` : ''} (${p.timezone ?? 'UTC'})`;
    case 'static':
      return `static (${p.keys.length} key${p.keys.length === 1 ? '' : 's'})`;
    case 'dynamic':
      return `dynamic "${p.name}"`;
    case 'multi':
      return p.dimensions.map((d) => `${d.name}: ${describePartitions(d.partitions)}`).join(' × ');
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
