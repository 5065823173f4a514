import type { TriggerInput } from './contracts/automations.js';
import type { ResourceRequest } from './contracts/resources.js';
import type { ScheduleInput } from './contracts/schedules.js';

/** One deployment of a flow: where it runs, with which defaults. */
export interface DeploymentConfig {
  /**
   * The flow's name, as given to `flow({ name })`. Required unless `assets` is set, when it may be
   * omitted and is `assets` (the built-in flow that materialises them).
   */
  flow?: string;
  /**
   * Deploy the asset graph the entrypoint defines (`asset()`): `outpost deploy` registers every
   * asset with this deployment (keys, deps, partitions, checks, code versions…), and its runs
   * materialise them. The deployment is `assets/<name>`. @default false
   */
  assets?: boolean;
  /** The deployment's name, unique per flow. */
  name: string;
  /** Module that defines the flow, relative to the config file, e.g. `flows/train.ts`. */
  entrypoint: string;
  /**
   * Project files shipped with the flow's bundle as they are: a `train.py`, a Python package
   * directory, a SQL file. Glob patterns relative to the project directory (the config file's),
   * e.g. `['scripts/*.py', 'sql/**', '!scripts/scratch_*.py']`; a directory name takes everything
   * under it, and dot files match only a pattern that names the dot. Each file keeps its
   * project-relative path inside the bundle, and its executable bit. On the worker the flow runs
   * with the unpacked bundle as its working directory, also named by `OUTPOST_BUNDLE_DIR`, so
   * `pipes.run(['python3', 'scripts/train.py'])` finds the script.
   *
   * `node_modules` and `.git` never match. The deploy stops with one line naming the pattern or
   * file for a pattern that reaches outside the project (`../x`, an absolute path) or matches
   * nothing, a file that is or lies under a symlink leading outside the project, and files adding
   * up to more than 50 MiB. The bundle is the same for all deployments of a deploy, so it carries
   * the files every deployment lists. Ignored with `source.git`, whose checkout holds them anyway.
   * @default [] (only the built modules)
   */
  files?: string[];
  description?: string;
  /** Work pool whose workers run this deployment. @default config.defaultPool */
  pool?: string;
  /** Queue inside the pool. @default "default" */
  queue?: string;
  /** Default parameters, merged under each run's parameters. @default {} */
  parameters?: Record<string, unknown>;
  /** @default [] */
  tags?: string[];
  /** Worker labels a run needs, e.g. `{ gpu: "true" }`. @default {} */
  labels?: Record<string, string>;
  /**
   * Settings the worker resolves locally. Secrets are referenced by name, never by value:
   * `{ env: { DB_PASSWORD: { $secret: "DB_PASSWORD" } } }`. `waitHoldSeconds` (0 to 86400) is how
   * long a pending durable wait holds the flow's process before the run suspends (docs/waits.md).
   * @default {}
   */
  jobVariables?: Record<string, unknown>;
  /**
   * What each run needs of its worker: `{ gpus: 1, gpuMemoryGb: 40, memoryGb: 16, cpus: 2 }`. A
   * worker takes a run only when it has that much free, and hands it concrete GPU devices
   * (`CUDA_VISIBLE_DEVICES`). `outpost run … --gpus 2` overrides it per run. @default undefined (none)
   */
  resources?: ResourceRequest;
  /** Attempts after the first when a run fails. @default 0 */
  retries?: number;
  /** Delay before a retry. @default 0 */
  retryDelaySeconds?: number;
  /** Exponential backoff: retry n waits `retryDelaySeconds × retryBackoff^(n − 1)` (capped at a day). @default 1 */
  retryBackoff?: number;
  /**
   * 0–1: each retry delay is stretched by up to this fraction of itself, so runs failing together
   * do not retry in lockstep — the same meaning as a task's `jitter`; never shortened. @default 0
   */
  retryJitter?: number;
  /** At most this many runs of the deployment PENDING, RUNNING or CANCELLING at once. @default no limit */
  concurrencyLimit?: number;
  /** At the limit, a due run waits (`ENQUEUE`) or is cancelled (`CANCEL_NEW`). @default 'ENQUEUE' */
  collisionStrategy?: 'ENQUEUE' | 'CANCEL_NEW';
  /**
   * When runs start by themselves: cron (`{ cron: '30 2 * * *', timezone: 'Europe/Berlin' }`, 5 or 6
   * fields, DST-correct) or interval (`{ intervalSeconds: 3600, anchorDate: '2025-01-01T00:15:00Z' }`),
   * each with optional `slug`, `active`, `parameters` (over the defaults above) and
   * `catchup` (`all` | `latest` | `none`, what happens to times missed during an outage).
   * Deploying replaces the deployment's schedules with these, matched by slug, so redeploying never
   * duplicates a run. @default [] (no schedules; deploying removes any the deployment had)
   */
  schedules?: ScheduleInput[];
  /**
   * Events that start a run of this deployment: `{ name?, trigger, parameters?, enabled? }`, where
   * `trigger` is an event trigger (`{ type: 'event', match: 'event.kind == "file.arrived"' }`, with
   * optional `threshold`, `groupBy`, `cooldownSeconds`), a compound, sequence or proactive trigger,
   * and `parameters` a template (`{ path: '{{ event.payload.path }}' }`). Expressions are CEL over
   * `event`, checked at deploy with their position. Deploying replaces the deployment's triggers,
   * matched by name. @default [] (deploying removes any the deployment had)
   */
  triggers?: TriggerInput[];
}

/** The shape of `outpost.config.ts`. */
export interface OutpostConfig {
  /** Project name; used as the bundle's repository name in a registry. */
  project: string;
  /**
   * Where bundles are pushed: `oci://host:port/repository` (a registry, with the user's own
   * credentials) or `oci-layout:./path` / `oci-layout:///abs/path` (an OCI image-layout directory).
   * Required unless `source` names a git repository.
   */
  registry?: string;
  /**
   * Deploy from a git repository instead of pushing a bundle. `outpost deploy` resolves `ref` to a
   * full commit sha with `git ls-remote` and registers `git+<url>#<sha>`; workers fetch that commit
   * with their own git credentials, run `npm ci` when the repository has a package-lock.json, and
   * compile TypeScript entrypoints themselves. Entrypoints are paths from the repository root, so
   * the config file sits there. `url` is `https://…`, `ssh://…` or `file:///…`, never with a
   * credential in it. @default undefined (build the bundle and push it to `registry`)
   */
  source?: {
    git: {
      url: string;
      /** Branch, tag or full commit sha. @default "HEAD" */
      ref?: string;
    };
  };
  /** Pool for deployments that name none. @default "default" */
  defaultPool?: string;
  deployments: DeploymentConfig[];
}

/** Typed identity helper for `outpost.config.ts`. */
export function defineConfig(config: OutpostConfig): OutpostConfig {
  return config;
}
