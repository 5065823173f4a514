import { randomUUID } from 'node:crypto';
import type { ArtifactType } from '../contracts/artifacts.js';
import { currentScope } from './context.js';
import { describeError, toError } from './errors.js';
import { lazy } from './lazy.js';
import { log } from './logger.js';
import { localReporter } from './reporter-local.js';

const protocol = lazy(() => import('./protocol.js'));

export interface ArtifactOptions {
  /** Shown next to the artifact. @default undefined */
  description?: string;
}

/** A table cell as stored: other values are converted (dates to ISO text, objects to JSON text, undefined to null). */
export type TableCell = string | number | boolean | null;

function toCell(value: unknown): TableCell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Rows as objects become columns (every key, in first-seen order) and rows of cells. */
function tableData(rows: readonly Record<string, unknown>[]): { columns: string[]; rows: TableCell[][] } {
  if (!Array.isArray(rows)) throw new TypeError('artifact.table expects an array of row objects');
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const column of Object.keys(row ?? {})) {
      if (!seen.has(column)) {
        seen.add(column);
        columns.push(column);
      }
    }
  }
  return { columns, rows: rows.map((row) => columns.map((column) => toCell(row?.[column]))) };
}

/*
 * Progress updates of one key are sent in the order they were made: each waits for the one before,
 * so an older fraction can never overwrite a newer one.
 */
const progressChains = new Map<string, Promise<void>>();

async function publish(type: ArtifactType, key: string, data: unknown, options: ArtifactOptions = {}): Promise<void> {
  const { run, task } = currentScope();
  const { CreateArtifactBody } = await protocol();
  const parsed = CreateArtifactBody.safeParse({
    id: randomUUID(),
    key,
    type,
    data,
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(task && run ? { taskRunId: task.taskRunId } : {}),
  });
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TypeError(`invalid ${type} artifact '${String(key)}': ${detail}`);
  }
  const { flowRunId: _none, ...body } = parsed.data;
  const reporter = run?.reporter ?? localReporter;
  const send = async () => {
    try {
      await reporter.createArtifact(body);
    } catch (error) {
      // Like task runs, an artifact the worker could not record must not fail the computation.
      log.warning(`artifact '${key}' could not be recorded: ${describeError(toError(error))}`);
    }
  };
  if (type !== 'progress') return send();
  const chainKey = `${run?.run.id ?? 'local'}\u0000${key}`;
  const sent = (progressChains.get(chainKey) ?? Promise.resolve()).then(send);
  progressChains.set(chainKey, sent);
  await sent;
  if (progressChains.get(chainKey) === sent) progressChains.delete(chainKey);
}

/**
 * Artifacts: small, human-readable outputs of a run, shown with it in the dashboard — a report, a
 * table of metrics, a link to a model, a progress bar. Each is recorded with the flow run (and the
 * task run, when made inside a task) under a key; `GET /artifacts?key=` finds the latest one. Their
 * text is redacted by the worker like log lines. Run locally, each prints one line. `data` is
 * limited to 256 KiB; a key uses lowercase letters, digits, `-` and `_`.
 */
export const artifact = {
  /**
   * A Markdown document (rendered as text-safe Markdown: no HTML).
   * @example await artifact.markdown('report', `# Accuracy\n\n**${(acc * 100).toFixed(1)}%**`);
   */
  markdown(key: string, markdown: string, options?: ArtifactOptions): Promise<void> {
    return publish('markdown', key, { markdown }, options);
  },
  /**
   * A table from row objects; columns are every key seen, in order.
   * @example await artifact.table('metrics', [{ epoch: 1, loss: 0.4 }, { epoch: 2, loss: 0.2 }]);
   */
  table(key: string, rows: readonly Record<string, unknown>[], options?: ArtifactOptions): Promise<void> {
    return publish('table', key, tableData(rows), options);
  },
  /**
   * A link (http or https).
   * @example await artifact.link('model', 'https://models.internal/churn/42', 'churn model v42');
   */
  link(key: string, url: string, text?: string, options?: ArtifactOptions): Promise<void> {
    return publish('link', key, { url, text: text ?? null }, options);
  },
  /**
   * A progress bar from 0 to 1; later calls with the same key in the same run update it in place.
   * @example await artifact.progress('training', epoch / epochs);
   */
  progress(key: string, fraction: number, options?: ArtifactOptions): Promise<void> {
    return publish('progress', key, { progress: fraction }, options);
  },
} as const;
