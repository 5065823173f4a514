import type { AssetDefinitionInput, FieldError } from '@outpost/sdk/contracts';
import type { z } from 'zod';
import type { TxSql } from '../db/client.js';
import { DomainError } from '../domain-error.js';
import { assetCronErrors } from './automation/cron.js';
import { type AssetDefinitionRecord, loadAssetNodes, lockAssetGraph, replaceDeploymentAssets } from './db/asset-definitions.js';
import { findCycle, formatPath } from './graph.js';
import { partitionsDefinitionErrors } from './partition-keys.js';

/** An asset as the contract parsed it (defaults applied). */
export type AssetInput = z.output<typeof AssetDefinitionInput>;

const MAX_ERRORS = 50;

function where(asset: { definedAt?: string | null | undefined }): string {
  return asset.definedAt ? ` (${asset.definedAt})` : '';
}

function refuse(detail: string, errors: FieldError[]): never {
  throw new DomainError('validation_failed', detail, { errors: errors.slice(0, MAX_ERRORS) });
}

/**
 * What the request alone shows to be wrong with a deployment's assets: a key or a check defined
 * twice, a partitions definition with an unknown zone or impossible dates. `path` is `body.assets`.
 */
export function checkAssetInputs(assets: readonly AssetInput[], path: string): void {
  const errors: FieldError[] = [];
  const first = new Map<string, number>();
  assets.forEach((asset, i) => {
    const earlier = first.get(asset.key);
    if (earlier !== undefined) {
      const other = assets[earlier];
      errors.push({
        path: `${path}.${i}.key`,
        message: `"${asset.key}" is defined twice: at ${other?.definedAt ?? `${path}.${earlier}`} and at ${asset.definedAt ?? `${path}.${i}`}`,
      });
    } else first.set(asset.key, i);
    const checks = new Set<string>();
    asset.checks.forEach((check, j) => {
      if (checks.has(check.name)) {
        errors.push({ path: `${path}.${i}.checks.${j}.name`, message: `the check "${check.name}" is declared twice` });
      }
      checks.add(check.name);
    });
    if (asset.partitions) errors.push(...partitionsDefinitionErrors(asset.partitions, `${path}.${i}.partitions`));
    if (asset.automation?.cron) errors.push(...assetCronErrors(asset.automation.cron, `${path}.${i}.automation.cron`));
    if (asset.freshness?.cron) errors.push(...assetCronErrors(asset.freshness.cron, `${path}.${i}.freshness.cron`));
  });
  if (errors.length > 0) refuse('the assets are invalid', errors);
}

/**
 * Makes `assets` the asset set of the deployment, in the deploy's transaction: every dep must be
 * defined by this deploy or already by another deployment of the workspace; a key another
 * deployment defines is a conflict naming it; the workspace's graph must stay acyclic (the cycle is
 * printed). Keys the deployment no longer sends stop being defined; their history stays.
 */
export async function registerDeploymentAssets(
  tx: TxSql,
  input: { workspaceId: string; deploymentId: string; assets: readonly AssetInput[]; path: string },
): Promise<void> {
  const { workspaceId, deploymentId, assets, path } = input;
  await lockAssetGraph(tx, workspaceId);
  const others = (await loadAssetNodes(tx, workspaceId)).filter((n) => n.deploymentId !== deploymentId);
  const othersByKey = new Map(others.map((n) => [n.key, n]));

  for (const asset of assets) {
    const owner = othersByKey.get(asset.key);
    if (owner) {
      throw new DomainError(
        'conflict',
        `asset "${asset.key}"${where(asset)} is already defined by deployment ${owner.deploymentName}${where(owner)}`,
      );
    }
  }

  const ours = new Set(assets.map((a) => a.key));
  const errors: FieldError[] = [];
  const missing = new Set<string>();
  assets.forEach((asset, i) => {
    asset.deps.forEach((dep, j) => {
      if (!ours.has(dep) && !othersByKey.has(dep)) {
        missing.add(dep);
        errors.push({
          path: `${path}.${i}.deps.${j}`,
          message: `"${dep}" is neither defined by this deployment nor registered in the workspace`,
        });
      }
    });
  });
  if (errors.length > 0) refuse(`undefined deps: ${[...missing].map((k) => `"${k}"`).join(', ')}`, errors);

  const deps = new Map<string, readonly string[]>(others.map((n) => [n.key, n.deps]));
  for (const asset of assets) deps.set(asset.key, asset.deps);
  const cycle = findCycle(deps);
  if (cycle) {
    const at = assets.findIndex((a) => cycle.includes(a.key));
    refuse(`the asset graph has a cycle: ${formatPath(cycle)}`, [
      { path: at >= 0 ? `${path}.${at}.deps` : path, message: `cycle: ${formatPath(cycle)}` },
    ]);
  }

  const records: AssetDefinitionRecord[] = assets.map((a) => ({
    key: a.key,
    codeVersion: a.codeVersion,
    deps: [...new Set(a.deps)],
    partitions: a.partitions ?? null,
    checks: a.checks,
    owners: [...new Set(a.owners)],
    tags: [...new Set(a.tags)],
    group: a.group ?? null,
    io: a.io ?? null,
    acceptsRange: a.acceptsRange,
    description: a.description ?? null,
    definedAt: a.definedAt ?? null,
    automation: a.automation ?? null,
    freshness: a.freshness ?? null,
  }));
  await replaceDeploymentAssets(tx, { workspaceId, deploymentId, assets: records });
}
