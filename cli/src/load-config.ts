import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DeploymentConfig, OutpostConfig } from '@outpost/sdk/config';
import { ASSET_FLOW_NAME, Name, ResourceRequest, ScheduleInputs, TriggerInputs } from '@outpost/sdk/contracts';
import { build } from 'esbuild';
import * as z from 'zod';
import { UsageError } from './errors.js';

export const CONFIG_FILE = 'outpost.config.ts';

const DeploymentSchema = z.object({
  flow: Name.optional(),
  assets: z.boolean().optional(),
  name: Name,
  entrypoint: z.string().min(1),
  files: z.array(z.string().min(1).max(1000)).max(200).optional(),
  description: z.string().max(2000).optional(),
  pool: Name.optional(),
  queue: Name.optional(),
  parameters: z.record(z.string(), z.json()).optional(),
  tags: z.array(z.string().min(1).max(100)).max(50).optional(),
  labels: z.record(z.string().max(100), z.string().max(200)).optional(),
  jobVariables: z.record(z.string(), z.json()).optional(),
  resources: ResourceRequest.optional(),
  retries: z.number().int().min(0).max(100).optional(),
  retryDelaySeconds: z.number().int().min(0).max(86_400).optional(),
  retryBackoff: z.number().min(1).max(10).optional(),
  retryJitter: z.number().min(0).max(1).optional(),
  concurrencyLimit: z.number().int().min(0).max(100_000).optional(),
  collisionStrategy: z.enum(['ENQUEUE', 'CANCEL_NEW']).optional(),
  schedules: ScheduleInputs.optional(),
  triggers: TriggerInputs.optional(),
});

const ConfigSchema = z
  .object({
    project: Name,
    registry: z.string().min(1).optional(),
    source: z
      .strictObject({ git: z.strictObject({ url: z.string().min(1).max(1900), ref: z.string().min(1).max(250).optional() }) })
      .optional(),
    defaultPool: Name.optional(),
    deployments: z
      .array(
        DeploymentSchema.superRefine((d, ctx) => {
          if (d.assets && d.flow !== undefined && d.flow !== ASSET_FLOW_NAME) {
            ctx.addIssue({
              code: 'custom',
              path: ['flow'],
              message: `a deployment with assets: true runs the built-in "${ASSET_FLOW_NAME}" flow; omit flow`,
            });
          }
          if (!d.assets && d.flow === undefined) {
            ctx.addIssue({ code: 'custom', path: ['flow'], message: 'name the flow to deploy, or set assets: true' });
          }
        }),
      )
      .min(1, 'declare at least one deployment'),
  })
  .refine((c) => c.registry !== undefined || c.source !== undefined, {
    path: ['registry'],
    message: 'set registry (where bundles are pushed) or source.git',
  });

/** A deployment with its flow resolved (`assets` for an asset deployment). */
export type ResolvedDeployment = DeploymentConfig & { flow: string };

export interface LoadedConfig {
  config: Omit<OutpostConfig, 'deployments'> & { deployments: ResolvedDeployment[] };
  configPath: string;
  /** Entrypoints and relative registry paths are resolved against this directory. */
  projectDir: string;
  /** Keys the CLI does not know (typos, most likely); reported, not fatal. */
  warnings: string[];
}

/**
 * Loads `outpost.config.ts`: esbuild bundles it (TypeScript, imports and all) into a temporary
 * `.mjs` module, which is then imported. Loaded into the CLI's own process on purpose: the config
 * is the user's declaration of what to deploy, unlike flow modules, which are only ever imported
 * in a child process.
 */
export async function loadConfig(pathOrDir: string, cwd: string): Promise<LoadedConfig> {
  let configPath = resolve(cwd, pathOrDir);
  if (existsSync(configPath) && statSync(configPath).isDirectory()) configPath = join(configPath, CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new UsageError(`no config file at ${configPath}`, [
      `create ${CONFIG_FILE} with defineConfig(…) or pass --config <path>`,
    ]);
  }
  const projectDir = dirname(configPath);
  const raw = await importConfigModule(configPath, projectDir);
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(
      `${relative(cwd, configPath) || configPath} is not a valid Outpost config`,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`),
    );
  }
  const config = parsed.data as LoadedConfig['config'];
  for (const d of config.deployments) {
    if (d.assets || d.flow === ASSET_FLOW_NAME) Object.assign(d, { flow: ASSET_FLOW_NAME, assets: true });
  }
  const warnings = unknownKeys(raw);
  const seen = new Set<string>();
  for (const [i, d] of config.deployments.entries()) {
    const id = `${d.flow}/${d.name}`;
    if (seen.has(id)) throw new UsageError(`deployment ${id} is declared twice`, [`deployments.${i}`]);
    seen.add(id);
    if (isAbsolute(d.entrypoint)) throw new UsageError(`deployments.${i}.entrypoint must be relative to the config's directory`);
    const entry = resolve(projectDir, d.entrypoint);
    if (relative(projectDir, entry).startsWith('..')) {
      throw new UsageError(`deployments.${i}.entrypoint must be inside the project directory ${projectDir}`);
    }
    if (!existsSync(entry)) throw new UsageError(`deployments.${i}.entrypoint: ${d.entrypoint} does not exist in ${projectDir}`);
  }
  return { config, configPath, projectDir, warnings };
}

async function importConfigModule(configPath: string, projectDir: string): Promise<unknown> {
  let code: string;
  try {
    const result = await build({
      entryPoints: [configPath],
      absWorkingDir: projectDir,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      // Bundled CommonJS dependencies call require(); give the ESM output one.
      banner: {
        js: "import { createRequire as __outpostRequire } from 'node:module'; const require = __outpostRequire(import.meta.url);",
      },
    });
    code = result.outputFiles[0]?.text ?? '';
  } catch (error) {
    const errors = (error as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] })
      .errors;
    throw new UsageError(
      `cannot compile ${configPath}`,
      errors?.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text)) ?? [
        (error as Error).message,
      ],
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'outpost-config-'));
  try {
    const file = join(dir, 'outpost.config.mjs');
    await writeFile(file, code);
    let mod: { default?: unknown; config?: unknown };
    try {
      mod = (await import(pathToFileURL(file).href)) as { default?: unknown; config?: unknown };
    } catch (error) {
      throw new UsageError(`${configPath} failed while loading`, [(error as Error).message]);
    }
    const config = mod.default ?? mod.config;
    if (config === undefined) throw new UsageError(`${configPath} has no default export`, ['export default defineConfig({ … })']);
    return config;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function unknownKeys(raw: unknown): string[] {
  if (!raw || typeof raw !== 'object') return [];
  const known = new Set(Object.keys(ConfigSchema.shape));
  const knownDeployment = new Set(Object.keys(DeploymentSchema.shape));
  const warnings = Object.keys(raw)
    .filter((k) => !known.has(k))
    .map((k) => `unknown config key "${k}" is ignored`);
  const deployments = (raw as { deployments?: unknown }).deployments;
  if (Array.isArray(deployments)) {
    for (const [i, d] of deployments.entries()) {
      if (!d || typeof d !== 'object') continue;
      for (const k of Object.keys(d)) if (!knownDeployment.has(k)) warnings.push(`unknown key deployments.${i}.${k} is ignored`);
    }
  }
  return warnings;
}
