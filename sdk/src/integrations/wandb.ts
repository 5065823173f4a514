import type { AssetContext } from '../assets/asset.js';
import { artifact } from '../runtime/artifacts.js';
import { currentScope } from '../runtime/context.js';
import { IntegrationError, serviceUrl } from './rest.js';

/*
 * A Weights & Biases run, linked from the Outpost run that trained: a link artifact to the run's
 * page and, for an asset, the URL in its materialisation's metadata. Only the run's address is
 * recorded; W&B's API is not called, so no W&B key is needed for it. From Python, the same link is
 * `pipes.report_link("wandb-run", wandb.run.url)`.
 */

export interface WandbRunInput {
  /** @default process.env.WANDB_ENTITY */
  entity?: string;
  /** @default process.env.WANDB_PROJECT */
  project?: string;
  /** The run's id (`wandb.run.id`). @default process.env.WANDB_RUN_ID */
  runId?: string;
  /** A W&B server of your own. @default process.env.WANDB_BASE_URL, or https://wandb.ai */
  baseUrl?: string;
  asset?: AssetContext;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Links the W&B run to this run (and asset); returns its URL. */
export async function linkWandbRun(input: WandbRunInput = {}): Promise<string> {
  const env = input.env ?? process.env;
  const parts = {
    entity: input.entity ?? env.WANDB_ENTITY,
    project: input.project ?? env.WANDB_PROJECT,
    runId: input.runId ?? env.WANDB_RUN_ID,
  };
  for (const [name, value] of Object.entries(parts)) {
    if (!value || !SEGMENT.test(value)) {
      const variable = `WANDB_${name === 'runId' ? 'RUN_ID' : name.toUpperCase()}`;
      throw new IntegrationError(
        `a W&B run needs its ${name} (letters, digits, . _ -): pass ${name} or set ${variable}`,
        null,
        null,
      );
    }
  }
  const base = serviceUrl(input.baseUrl ?? env.WANDB_BASE_URL ?? 'https://wandb.ai', 'WANDB_BASE_URL', 'WANDB_API_KEY');
  const url = `${base.href.replace(/\/+$/, '')}/${parts.entity}/${parts.project}/runs/${parts.runId}`;
  if (currentScope().run) await artifact.link('wandb-run', url, `W&B run ${parts.entity}/${parts.project}/${parts.runId}`);
  input.asset?.addMetadata({ wandbRun: url });
  return url;
}
