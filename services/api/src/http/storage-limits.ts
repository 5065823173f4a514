import type { FieldError, RouteName } from '@outpost/sdk/contracts';
import { ApiError } from '../errors.js';

const INT32_MAX = 2_147_483_647;

type Check = (body: unknown) => FieldError[];

function tooLarge(value: unknown, path: string): FieldError[] {
  return typeof value === 'number' && value > INT32_MAX ? [{ path, message: `must be at most ${INT32_MAX}` }] : [];
}

function each(list: unknown, path: string, field: string): FieldError[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((item, i) => tooLarge((item as Record<string, unknown>)?.[field], `${path}.${i}.${field}`));
}

/**
 * The contracts leave attempts, sequence numbers and run counts unbounded above; the database
 * stores them in 32 bits. Checked with the rest of the input, so an overflow is a 400 naming the
 * field before anything is looked up, never a database error.
 */
const CHECKS: Partial<Record<RouteName, Check>> = {
  logsWrite: (body) => each((body as { logs?: unknown }).logs, 'body.logs', 'seq'),
  flowRunsSetState: (body) => each((body as { logs?: unknown }).logs, 'body.logs', 'seq'),
  poolRunsLogsWrite: (body) => {
    const items = (body as { items?: unknown }).items;
    return Array.isArray(items)
      ? items.flatMap((item, i) => each((item as { logs?: unknown })?.logs, `body.items.${i}.logs`, 'seq'))
      : [];
  },
  workersHeartbeat: (body) => each((body as { runs?: unknown }).runs, 'body.runs', 'attempt'),
  taskRunsSetState: (body) => tooLarge((body as { runCount?: unknown }).runCount, 'body.runCount'),
};

export function checkStorageLimits(name: RouteName, body: unknown): void {
  const errors = CHECKS[name]?.(body) ?? [];
  if (errors.length > 0) throw new ApiError('validation_failed', 'a number is too large', { errors });
}
