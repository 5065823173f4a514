import * as z from 'zod';
import { currentScope } from './context.js';
import { lazy } from './lazy.js';
import type { ResultStorage } from './result-storage.js';
import { type RetryOptions, retryOptionFields } from './retry.js';
import { TaskCache } from './task-cache.js';
import { mapWithConcurrency } from './task-map.js';
import { nextCallIndex, runTask } from './task-run.js';

export interface TaskOptions<A extends unknown[] = unknown[]> extends RetryOptions {
  /** The task's name; with its call index inside a flow run it forms the task key (`double-0`). */
  name: string;
  /** @default undefined */
  description?: string;
  /**
   * Reuse earlier results: a call whose key has a stored, unexpired result returns it without
   * running the function, and its task run is recorded COMPLETED with the state name `Cached`.
   * The key is a sha256 of the task's source text and the canonical JSON of its arguments, unless
   * `cacheKey` is given. Results are kept in your result storage (`OUTPOST_RESULT_STORAGE`,
   * `~/.cache/outpost/results` by default); the control plane only learns the key. Only results
   * that are plain JSON (objects, arrays, strings, finite numbers, booleans, null) are cached.
   * @default false, or true when `cacheKey` is given
   */
  cache?: boolean;
  /**
   * The cache key of a call, from its arguments, e.g. `(date) => date.slice(0, 10)`. Keys are
   * scoped to the task's name. Enables caching. @default sha256 of source + arguments
   */
  cacheKey?: (...args: A) => string;
  /** How long a stored result may be reused. @default undefined (until removed from the storage) */
  cacheExpirationSeconds?: number;
  /** Where this task's results are stored. @default the storage `OUTPOST_RESULT_STORAGE` names */
  resultStorage?: ResultStorage;
}

export interface MapOptions {
  /** Items run at most this many at a time. @default 8 */
  concurrency?: number;
}

export const DEFAULT_MAP_CONCURRENCY = 8;

const isFunction = (value: unknown) => typeof value === 'function';

// Built on the first call, not when the SDK is imported.
const TaskOptionsSchema = lazy(() =>
  z.strictObject({
    name: z.string().min(1).max(200),
    description: z.string().optional(),
    ...retryOptionFields(),
    cache: z.boolean().optional(),
    cacheKey: z.custom<(...args: unknown[]) => string>(isFunction, 'expected a function').optional(),
    cacheExpirationSeconds: z.number().positive().optional(),
    resultStorage: z
      .custom<ResultStorage>(
        (value) => isFunction((value as ResultStorage | null)?.read) && isFunction((value as ResultStorage | null)?.write),
        'expected a ResultStorage (read and write functions)',
      )
      .optional(),
  }),
);

// Built on the first call, not when the SDK is imported.
const MapOptionsSchema = lazy(() => z.strictObject({ concurrency: z.number().int().min(1).default(DEFAULT_MAP_CONCURRENCY) }));

/** What `map` passes each item as: the task's single argument (further arguments must be optional). */
export type MapItem<A extends unknown[]> = A extends []
  ? never
  : A extends [unknown?, ...infer Rest]
    ? [] extends Rest
      ? A[0]
      : never
    : never;

/** A task: call it like the function it wraps; each call is a recorded, retried task run. */
export type Task<A extends unknown[], R> = ((...args: A) => Promise<R>) & {
  readonly taskName: string;
  readonly description: string | undefined;
  /**
   * Run the task once per item, at most `concurrency` at a time; each item is its own task run
   * (task key `name-N[i]`, dynamic key `i`). Resolves with the results in the items' order. When a
   * call fails, no further item is started, the calls in flight settle, and the first error is thrown.
   * @example
   * const squares = await square.map([1, 2, 3], { concurrency: 2 }); // [1, 4, 9]
   */
  map(items: Iterable<MapItem<A>>, options?: MapOptions): Promise<R[]>;
};

function invalid(what: string, error: z.ZodError): TypeError {
  const detail = error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return new TypeError(`invalid ${what}: ${detail}`);
}

/**
 * Define a task. Inside a flow each call becomes a task run (reported to the control plane under
 * the worker, with its own log lines); outside a flow it simply runs, with retries and timeout.
 * The function reads its abort signal, task run id and attempt through `taskContext()`.
 * @example
 * const double = task({ name: 'double', retries: 2, retryDelaySeconds: 1 }, async (n: number) => n * 2);
 * const slow = task({ name: 'features', cacheExpirationSeconds: 3600, cache: true }, async (day: string) => build(day));
 */
export function task<A extends unknown[], R>(
  options: TaskOptions<A> | string,
  fn: (...args: A) => R | Promise<R>,
): Task<A, Awaited<R>> {
  const parsed = TaskOptionsSchema().safeParse(typeof options === 'string' ? { name: options } : options);
  if (!parsed.success) throw invalid('task options', parsed.error);
  const settings = parsed.data;
  const caching = settings.cache ?? settings.cacheKey !== undefined;
  const cache = caching
    ? new TaskCache<A>(
        {
          name: settings.name,
          cacheKey: settings.cacheKey as ((...args: A) => string) | undefined,
          cacheExpirationSeconds: settings.cacheExpirationSeconds,
          resultStorage: settings.resultStorage,
        },
        fn,
      )
    : null;
  const call = (...args: A) => runTask(settings, fn, args, undefined, cache) as Promise<Awaited<R>>;
  const map = async (items: Iterable<MapItem<A>>, mapOptions: MapOptions = {}): Promise<Awaited<R>[]> => {
    const checked = MapOptionsSchema().safeParse(mapOptions);
    if (!checked.success) throw invalid(`map options of task '${settings.name}'`, checked.error);
    const list = Array.from(items);
    const { run } = currentScope();
    // One call index for the whole map, so keys stay stable across attempts whatever the concurrency.
    const index = nextCallIndex(run, settings.name);
    return mapWithConcurrency(
      list,
      checked.data.concurrency,
      (item, i) =>
        runTask(
          settings,
          fn,
          [item] as unknown as A,
          { taskKey: `${settings.name}-${index}[${i}]`, dynamicKey: String(i) },
          cache,
        ),
      run?.signal,
    ) as Promise<Awaited<R>[]>;
  };
  return Object.assign(call, { taskName: settings.name, description: settings.description, map });
}
