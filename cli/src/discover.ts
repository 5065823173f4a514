import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DeploymentUpsertRequest } from '@outpost/sdk/contracts';
import { CliError, EXIT, UsageError } from './errors.js';
import type { Env } from './settings.js';

export interface DiscoveredFlow {
  name: string;
  parameterSchema: Record<string, unknown> | null;
}

/** An asset as the module defines it (defaults applied), ready to register. */
export type DiscoveredAsset = NonNullable<DeploymentUpsertRequest['assets']>[number];

/** A sensor as the module defines it, with the flow it is limited to (null: any deployment of the module). */
export type DiscoveredSensor = NonNullable<DeploymentUpsertRequest['sensors']>[number] & { flow: string | null };

/** What a flow module defines: its flows, its assets (`asset()`) and its sensors (`sensor()`). */
export interface Discovered {
  flows: DiscoveredFlow[];
  assets: DiscoveredAsset[];
  sensors: DiscoveredSensor[];
}

const CHILD = fileURLToPath(new URL('./discover-child.js', import.meta.url));

/** Variables a flow module never needs at import time; kept out of the discovery process. */
const WITHHELD = /^(OUTPOST_API_KEY|OUTPOST_REGISTRY_PASSWORD|OUTPOST_REGISTRY_USERNAME)$/;

/**
 * Imports a built flow module in a separate `node` process and returns the flows it defines with
 * their parameter JSON schemas, and the assets it defines. `root` is the bundle's directory: where
 * assets are defined is said relative to it. A module that never finishes loading is stopped after `timeoutMs`.
 */
export function discoverFlows(
  modulePath: string,
  label: string,
  env: Env,
  timeoutMs = 60_000,
  root?: string,
): Promise<Discovered> {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !WITHHELD.test(k)) childEnv[k] = v;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CHILD, modulePath, ...(root ? [root] : [])], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: childEnv,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    type Report = {
      flows?: DiscoveredFlow[];
      assets?: DiscoveredAsset[];
      sensors?: DiscoveredSensor[];
      error?: string;
      usage?: boolean;
    };
    let report: Report | null = null;
    let output = '';
    const keep = (chunk: Buffer) => {
      if (output.length < 8_000) output += chunk.toString('utf8');
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (message) => {
      report = message as typeof report;
    });
    child.on('error', (error) => reject(new CliError(`cannot start node to inspect ${label}`, EXIT.failed, [error.message])));
    child.on('close', (code, signal) => {
      const r = report as Report | null;
      if (r?.flows) return resolvePromise({ flows: r.flows, assets: r.assets ?? [], sensors: r.sensors ?? [] });
      if (r?.error && r.usage) return reject(new UsageError(`${label}: ${r.error}`));
      const tail = output.trim().split('\n').filter(Boolean).slice(-10);
      if (r?.error) return reject(new CliError(`importing ${label} failed: ${r.error}`, EXIT.failed, tail));
      const how =
        signal === 'SIGKILL' ? `did not finish loading within ${timeoutMs / 1000}s` : `exited with ${signal ?? `code ${code}`}`;
      reject(new CliError(`importing ${label} ${how}`, EXIT.failed, tail));
    });
  });
}
