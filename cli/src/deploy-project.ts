import type { KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { findCycle } from '@outpost/sdk';
import {
  type BuiltBundle,
  BundleError,
  buildBundle,
  type PushProgress,
  parseGitSource,
  parseSource,
  pushBundle,
  resolveGitRef,
  resolveRegistryCredentials,
  verifySource,
} from '@outpost/sdk/bundle';
import { failureCode } from '@outpost/sdk/client';
import type { DeploymentUpsertRequest } from '@outpost/sdk/contracts';
import { deploymentStatement, signDeploymentStatement } from '@outpost/sdk/signing';
import type { Api } from './api.js';
import type { DeployLedger } from './deploy-ledger.js';
import { type Discovered, type DiscoveredAsset, discoverFlows } from './discover.js';
import { apiFailure, CliError, EXIT, UsageError } from './errors.js';
import { loadConfig, type ResolvedDeployment } from './load-config.js';
import { parseDeploymentRef } from './resolve.js';
import type { Env } from './settings.js';
import { typecheckProject } from './typecheck.js';
import { TypecheckCache } from './typecheck-cache.js';

export interface DeployProjectOptions {
  /** `outpost.config.ts` or the directory holding it, relative to `cwd`. */
  config: string;
  cwd: string;
  env: Env;
  /** Build and describe, but push nothing and call no API. */
  dryRun: boolean;
  /** Only this deployment (`flow/name`). */
  only?: string | undefined;
  /** Push here instead of the config's `registry`. */
  registry?: string | undefined;
  /** Register every deployment on this work pool instead of the one its config names. */
  pool?: string | undefined;
  /** Type-check the entrypoints before building; false skips it (`--no-typecheck`). @default true */
  typecheck?: boolean | undefined;
  /**
   * Skip a type-check whose inputs are all as they were when it last passed. `outpost dev` gives its
   * own; without one, the project's .outpost/typecheck.json is used.
   */
  typecheckCache?: TypecheckCache | undefined;
  /**
   * Register only what changed since the ledger's last record (`outpost dev`); without one, every
   * deployment is registered, and the config's schedules and limits replace the server's.
   */
  ledger?: DeployLedger | undefined;
  /** The API session; unused on a dry run. */
  api: (() => Api) | null;
  /**
   * The deploy key (`--sign-key`): each deployment is registered with a signature over what its runs
   * execute, which workers started with `--trust-key` require. Unsigned when absent.
   */
  signKey?: KeyObject | null | undefined;
  progress(line: string): void;
}

export interface PlannedDeployment {
  flow: string;
  name: string;
  /** The module in the bundle that defines the flow. */
  entrypoint: string;
  parameterSchema: Record<string, unknown> | null;
  /** For an asset deployment: the asset graph its entrypoint defines. */
  assets: DiscoveredAsset[] | null;
  request: Omit<DeploymentUpsertRequest, 'source'>;
  /** Set once registered. */
  id?: string;
  created?: boolean;
  /** Set when a ledger found the server's copy up to date, and nothing was sent. */
  unchanged?: boolean;
}

export interface DeployResult {
  project: string;
  registry: string;
  files: { path: string; size: number }[];
  /** Set unless it was a dry run. */
  source: string | null;
  deployments: PlannedDeployment[];
}

/**
 * `outpost deploy`: build the project's bundle, read each flow's parameter schema, push the bundle
 * to the user's registry, check that the pinned reference is really there, and register every
 * deployment with that reference only.
 */
export async function deployProject(options: DeployProjectOptions): Promise<DeployResult> {
  const { config, configPath, projectDir, warnings } = await loadConfig(options.config, options.cwd);
  for (const w of warnings) options.progress(`warning: ${w}`);
  const selected = select(config.deployments, options.only);
  const entrypoints = [...new Set(selected.map((d) => d.entrypoint))];
  // One bundle serves every deployment of the deploy: it carries the project files any of them lists.
  const projectFiles = [...new Set(selected.flatMap((d) => d.files ?? []))];
  if (config.source?.git && options.registry === undefined) {
    return deployFromGit(
      options,
      config.project,
      config.source.git,
      selected,
      config.defaultPool,
      projectDir,
      configPath,
      entrypoints,
    );
  }
  const registry = options.registry ?? config.registry;
  if (registry === undefined) throw new UsageError('the config sets no registry to push the bundle to');
  const target = await bundleStep('use the registry', async () => parseSource(registry));
  if (target.kind === 'dir') throw new UsageError(`the registry must be oci://… or oci-layout:…, got "${registry}"`);
  // The key is checked before anything is built: a wrong or missing one fails at once, not after the build.
  const api = options.dryRun ? null : await checkedApi(options);
  await typecheck(options, projectDir, configPath, entrypoints);

  options.progress(`building ${config.project} (${entrypoints.length} entrypoint${entrypoints.length === 1 ? '' : 's'})…`);
  const bundle = await bundleStep('build the bundle', () => buildBundle({ projectDir, entrypoints, files: projectFiles }));
  const files = bundle.files.map((f) => ({ path: f.path, size: f.bytes.byteLength }));
  const flowsByEntry = await discoverAll(bundle, entrypoints, options.env);

  const planned = selected.map((d) => plan(d, options.pool, config.defaultPool, bundle.entrypoints, flowsByEntry));
  checkAssetGraphs(planned);
  if (!api) return { project: config.project, registry, files, source: null, deployments: planned };

  const credentials =
    target.kind === 'oci'
      ? await bundleStep('read the registry credentials', () => resolveRegistryCredentials(target.host, { ...options.env }))
      : null;
  options.progress(`pushing to ${registry}…`);
  let blobs = 0;
  let skipped = 0;
  const pushed = await bundleStep(`push the bundle to ${registry}`, () =>
    pushBundle(bundle, registry, {
      credentials,
      baseDir: projectDir,
      onProgress: (event: PushProgress) => {
        if (event.phase !== 'blob') return;
        blobs++;
        if (event.skipped) skipped++;
      },
    }),
  );
  options.progress(`pushed ${blobs} blob${blobs === 1 ? '' : 's'} (${skipped} skipped) and the manifest ${pushed.digest}`);
  // A deploy must never register a reference that a worker cannot pull: read it back first.
  await bundleStep(`verify ${pushed.source}`, () => verifySource(pushed.source, { credentials }));

  await register(api, planned, pushed.source, options);
  return { project: config.project, registry, files, source: pushed.source, deployments: planned };
}

/**
 * A deployment from a git repository: the ref is resolved to a full commit sha now (a ref that moves
 * later does not change what runs), nothing is pushed, and `git+<url>#<sha>` is registered. Flows'
 * parameter schemas are read from the project as it is on disk, which should be a checkout of the
 * same commit. The repository must be reachable from here, or the deploy fails with exit code 3.
 */
async function deployFromGit(
  options: DeployProjectOptions,
  project: string,
  git: { url: string; ref?: string },
  selected: ResolvedDeployment[],
  defaultPool: string | undefined,
  projectDir: string,
  configPath: string,
  entrypoints: string[],
): Promise<DeployResult> {
  const ref = git.ref ?? 'HEAD';
  await bundleStep('use the git source', async () => parseGitSource(`git+${git.url}#${'0'.repeat(40)}`));
  const api = options.dryRun ? null : await checkedApi(options);
  await typecheck(options, projectDir, configPath, entrypoints);
  options.progress(`building ${project} to read its flows…`);
  const bundle = await bundleStep('build the bundle', () => buildBundle({ projectDir, entrypoints }));
  const files = bundle.files.map((f) => ({ path: f.path, size: f.bytes.byteLength }));
  const flowsByEntry = await discoverAll(bundle, entrypoints, options.env);
  // Workers compile the entrypoint from the repository themselves: register the source path, not the built module.
  const sources = Object.fromEntries(entrypoints.map((e) => [e, e.replace(/^\.\//, '')]));
  const planned = selected.map((d) => plan(d, options.pool, defaultPool, sources, flowsByEntry));
  checkAssetGraphs(planned);
  const shown = `git+${git.url}`;
  if (!api) return { project, registry: `${shown}#${ref}`, files, source: null, deployments: planned };
  options.progress(`resolving ${ref} in ${git.url}…`);
  // A commit nobody can fetch would never run: a missing ref fails like an unreachable repository (exit 3).
  const commit = await resolveGitRef(git.url, ref, { env: { ...process.env, ...options.env } }).catch((error: unknown) => {
    if (!(error instanceof BundleError)) throw error;
    const exit = error.code === 'invalid' ? EXIT.usage : EXIT.unreachable;
    throw new CliError(`cannot resolve ${ref} in ${git.url}`, exit, [error.message]);
  });
  const source = `${shown}#${commit}`;
  options.progress(`${ref} is ${commit}`);
  await register(api, planned, source, options);
  return { project, registry: shown, files, source, deployments: planned };
}

/**
 * Registers each planned deployment with `source`. With a ledger, one whose server copy is what it
 * would register is left alone: not sent, so schedules and limits changed on the server stay.
 */
async function register(api: Api, planned: PlannedDeployment[], source: string, options: DeployProjectOptions) {
  for (const pool of new Set(planned.map((p) => p.request.workPool))) await ensurePool(api, pool, options.progress);
  const ledger = options.ledger;
  try {
    for (const p of planned) {
      const body: DeploymentUpsertRequest = { ...p.request, source };
      if (options.signKey) {
        body.signature = await signDeploymentStatement(deploymentStatement({ ...body, deployment: body.name }), options.signKey);
      }
      const what = `${p.flow}/${p.name}`;
      if (ledger) {
        const found = await api.attempt('deploymentsGetByName', { params: { flow: p.flow, name: p.name } });
        if (!found.ok && failureCode(found) !== 'not_found') throw apiFailure(found, `cannot read deployment ${what}`, api.url);
        if (found.ok && ledger.unchanged(found.data, body)) {
          p.id = found.data.id;
          p.created = false;
          p.unchanged = true;
          options.progress(`unchanged ${what} → ${found.data.source}`);
          continue;
        }
      }
      const { deployment, created } = await api.call('deploymentsUpsert', { body }, `cannot register deployment ${what}`);
      p.id = deployment.id;
      p.created = created;
      p.unchanged = false;
      ledger?.record(deployment.id, body);
      options.progress(`registered ${what} → ${deployment.source}`);
    }
  } finally {
    // What was registered before a failure counts too: the next start leaves it alone.
    await ledger?.save();
  }
}

/** The API session, its key accepted by the API (`whoami`), or the usual one-line error. */
async function checkedApi(options: DeployProjectOptions): Promise<Api> {
  const api = options.api?.();
  if (!api) throw new CliError('deploying needs the API', EXIT.usage);
  await api.call('whoami', {}, 'cannot deploy');
  return api;
}

/** Nothing with a type error is deployed, unless the check is switched off. */
async function typecheck(options: DeployProjectOptions, projectDir: string, configPath: string, entrypoints: string[]) {
  if (options.typecheck === false) return;
  const cache = options.typecheckCache ?? (await TypecheckCache.open(join(projectDir, '.outpost', 'typecheck.json')));
  const { skipped, unsaved } = await typecheckProject(projectDir, entrypoints, configPath, {
    cache,
    checking: () => options.progress(`type-checking ${entrypoints.length} entrypoint${entrypoints.length === 1 ? '' : 's'}…`),
  });
  if (skipped) options.progress('type-check skipped: nothing it reads has changed since it last passed');
  if (unsaved) options.progress(`warning: the type-check passed, but ${unsaved}: the next deploy checks again`);
}

function select(deployments: ResolvedDeployment[], only: string | undefined): ResolvedDeployment[] {
  if (!only) return deployments;
  const { flow, name } = parseDeploymentRef(only);
  const match = deployments.filter((d) => d.flow === flow && d.name === name);
  if (match.length === 0) {
    throw new UsageError(`the config declares no deployment ${only}`, [
      `declared: ${deployments.map((d) => `${d.flow}/${d.name}`).join(', ')}`,
    ]);
  }
  return match;
}

async function discoverAll(bundle: BuiltBundle, entrypoints: string[], env: Env): Promise<Map<string, Discovered>> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-deploy-'));
  try {
    for (const file of bundle.files) {
      const target = resolve(dir, file.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.bytes);
    }
    const result = new Map<string, Discovered>();
    for (const entry of entrypoints) {
      const built = bundle.entrypoints[entry];
      if (!built) throw new CliError(`the bundle has no module for ${entry}`, EXIT.failed);
      result.set(entry, await discoverFlows(join(dir, built), entry, env, undefined, dir));
    }
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function plan(
  d: ResolvedDeployment,
  poolOverride: string | undefined,
  defaultPool: string | undefined,
  built: Record<string, string>,
  flowsByEntry: Map<string, Discovered>,
): PlannedDeployment {
  const discovered = flowsByEntry.get(d.entrypoint) ?? { flows: [], assets: [], sensors: [] };
  const flows = discovered.flows;
  const flow = flows.find((f) => f.name === d.flow);
  if (d.assets && (!flow || discovered.assets.length === 0)) {
    throw new UsageError(`deployment ${d.flow}/${d.name}: ${d.entrypoint} defines no assets`, [
      'asset({ key }, fn) defines one; export the assets from the entrypoint (or import the modules that define them)',
    ]);
  }
  if (!flow) {
    throw new UsageError(`deployment ${d.flow}/${d.name}: ${d.entrypoint} defines no flow named "${d.flow}"`, [
      flows.length
        ? `flows defined there: ${flows.map((f) => f.name).join(', ')}`
        : 'no flow is defined there (flow({ name }, fn) registers one)',
    ]);
  }
  const request: Omit<DeploymentUpsertRequest, 'source'> = {
    flowName: d.flow,
    name: d.name,
    entrypoint: built[d.entrypoint]!,
    workPool: poolOverride ?? d.pool ?? defaultPool ?? 'default',
    ...(d.description !== undefined ? { description: d.description } : {}),
    ...(flow.parameterSchema ? { parameterSchema: flow.parameterSchema as DeploymentUpsertRequest['parameterSchema'] } : {}),
    ...(d.parameters ? { parameters: d.parameters as DeploymentUpsertRequest['parameters'] } : {}),
    ...(d.queue ? { workQueue: d.queue } : {}),
    ...(d.tags ? { tags: d.tags } : {}),
    ...(d.labels ? { labels: d.labels } : {}),
    ...(d.jobVariables ? { jobVariables: d.jobVariables as DeploymentUpsertRequest['jobVariables'] } : {}),
    ...(d.resources ? { resources: d.resources } : {}),
    ...(d.retries !== undefined ? { retries: d.retries } : {}),
    ...(d.retryDelaySeconds !== undefined ? { retryDelaySeconds: d.retryDelaySeconds } : {}),
    ...(d.retryBackoff !== undefined ? { retryBackoff: d.retryBackoff } : {}),
    ...(d.retryJitter !== undefined ? { retryJitter: d.retryJitter } : {}),
    ...(d.concurrencyLimit !== undefined ? { concurrencyLimit: d.concurrencyLimit } : {}),
    ...(d.collisionStrategy !== undefined ? { collisionStrategy: d.collisionStrategy } : {}),
    // Always sent: the config is where schedules live, so one removed from it is removed on deploy.
    // As declared: the API fills in the defaults (a partitions definition's timezone, for one).
    schedules: (d.schedules ?? []) as DeploymentUpsertRequest['schedules'],
    // Likewise the triggers: one removed from the config stops running the deployment.
    triggers: (d.triggers ?? []) as DeploymentUpsertRequest['triggers'],
    ...(d.assets ? { assets: discovered.assets } : {}),
    // Always sent, like schedules: a sensor removed from the code is removed on deploy.
    sensors: discovered.sensors
      .filter((s) => s.flow === null || s.flow === d.flow)
      .map(({ flow: _flow, ...definition }) => definition),
  };
  return {
    flow: d.flow,
    name: d.name,
    entrypoint: request.entrypoint,
    parameterSchema: flow.parameterSchema,
    assets: d.assets ? discovered.assets : null,
    request,
  };
}

/**
 * The asset graphs about to be registered must be acyclic, and each key defined once: by one
 * deployment of this deploy, at one place. Both mistakes are the project's (exit 2), named in full.
 */
function checkAssetGraphs(planned: PlannedDeployment[]): void {
  const owners = new Map<string, { deployment: string; definedAt: string }>();
  for (const p of planned) {
    if (!p.assets) continue;
    const deployment = `${p.flow}/${p.name}`;
    for (const a of p.assets) {
      const definedAt = a.definedAt ?? 'an unknown place';
      const earlier = owners.get(a.key);
      if (earlier) {
        throw new UsageError(
          `asset key '${a.key}' is defined twice: at ${earlier.definedAt} (deployment ${earlier.deployment}) and at ${definedAt} (deployment ${deployment})`,
          ['an asset key is defined by one deployment only; rename one of them or deploy the module once'],
        );
      }
      owners.set(a.key, { deployment, definedAt });
    }
    const cycle = findCycle(p.assets.map((a) => ({ key: a.key, deps: a.deps })));
    if (cycle) {
      const at = p.assets.find((a) => a.key === cycle[0])?.definedAt;
      throw new UsageError(`deployment ${deployment}: the asset graph has a cycle: ${cycle.join(' → ')}`, [
        ...(at ? [`${cycle[0]} is defined at ${at}`] : []),
        'an asset cannot depend on itself, directly or through other assets',
      ]);
    }
  }
}

/** Creates the pool when it is missing and the key may; a deployment on a missing pool would never run. */
export async function ensurePool(api: Api, pool: string, progress: (line: string) => void, description?: string): Promise<void> {
  const found = await api.attempt('poolsGet', { params: { pool } });
  if (found.ok) return;
  if (failureCode(found) !== 'not_found') {
    await api.call('poolsGet', { params: { pool } }, `cannot check work pool ${pool}`);
    return;
  }
  const body = { name: pool, ...(description !== undefined ? { description } : {}) };
  const created = await api.attempt('poolsCreate', { body });
  if (created.ok) {
    progress(`created work pool ${pool}`);
    return;
  }
  // Created meanwhile by someone else: what this step wanted.
  if (failureCode(created) === 'conflict') return;
  if (failureCode(created) === 'forbidden') {
    throw new CliError(`work pool ${pool} does not exist, and this API key may not create it`, EXIT.unreachable, [
      `ask an admin to run: outpost pools create ${pool}`,
    ]);
  }
  await api.call('poolsCreate', { body }, `cannot create work pool ${pool}`);
}

async function bundleStep<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    switch (error.code) {
      case 'unreachable':
        throw new CliError(`cannot ${what}: the registry is unreachable`, EXIT.unreachable, [error.message]);
      case 'unauthorized':
        throw new CliError(`cannot ${what}: the registry refused the credentials`, EXIT.unreachable, [
          error.message,
          'set OUTPOST_REGISTRY_USERNAME and OUTPOST_REGISTRY_PASSWORD, or log in with `docker login`',
        ]);
      case 'invalid':
        throw new CliError(`cannot ${what}`, EXIT.usage, [error.message]);
      case 'integrity':
      case 'not_found':
        throw new CliError(`cannot ${what}`, EXIT.failed, [error.message]);
    }
  }
}
