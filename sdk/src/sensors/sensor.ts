import { format } from 'node:util';
import type { SensorDefinitionInput, SensorResult } from '../contracts/sensors.js';
import { sensorSchemas } from '../contracts/sensors-schemas.js';
import type { Logger } from '../runtime/logger.js';

/** The global key under which sensors register; shared by every copy of the SDK in a process. */
export const SENSOR_REGISTRY_KEY = Symbol.for('outpost.sensors');

/** What a sensor function is given at each tick. */
export interface SensorContext {
  /** The cursor the previous tick returned (kept by the control plane); null before the first. */
  readonly cursor: string | null;
  /** When the previous tick ended; null before the first. */
  readonly lastTickAt: Date | null;
  /** Lines shown with the tick on the sensor's page (secrets the worker knows are masked). */
  readonly log: Logger;
  /** Aborted when the tick's time is up: stop and return, or the worker stops the process. */
  readonly signal: AbortSignal;
  readonly sensorName: string;
}

/** A run a tick asks for; a run key the sensor requested before (on any tick) creates nothing. */
export interface SensorRunRequest {
  runKey: string;
  parameters?: Record<string, unknown>;
  tags?: string[];
}

/** What a sensor function returns; nothing at all means "nothing to do". */
export interface SensorReturn {
  runRequests?: SensorRunRequest[];
  /** Kept for the next tick; omitted keeps the current one. */
  cursor?: string;
  /** Why nothing was requested, shown on the sensor's page. */
  skipReason?: string;
}

export type SensorFunction = (ctx: SensorContext) => SensorReturn | undefined | Promise<SensorReturn | undefined>;

export interface SensorOptions {
  /** Unique within a deployment; letters, digits, `.`, `_`, `-`. */
  name: string;
  /** Seconds between the end of one tick and the start of the next. @default 30 */
  intervalSeconds?: number;
  description?: string;
  /**
   * Register the sensor only with deployments of this flow, when the entrypoint defines several.
   * Runs a sensor requests are runs of the deployment that registers it. @default every deployment of the entrypoint
   */
  flow?: string;
}

/** What the worker's sensor runner and `outpost deploy` see of a sensor. */
export interface RegisteredSensor {
  readonly name: string;
  /** Only deployments of this flow register it; null for any. */
  readonly flow: string | null;
  definition(): SensorDefinitionInput;
  /** One tick, its result checked against the contract (a result it refuses throws). */
  evaluate(input: { cursor: string | null; lastTickAt: Date | null; signal?: AbortSignal }): Promise<SensorResult>;
}

export interface Sensor extends RegisteredSensor {
  readonly intervalSeconds: number;
}

/** The registry, created on first use. */
export function sensorRegistry(): Map<string, RegisteredSensor> {
  const holder = globalThis as { [SENSOR_REGISTRY_KEY]?: Map<string, RegisteredSensor> };
  holder[SENSOR_REGISTRY_KEY] ??= new Map();
  return holder[SENSOR_REGISTRY_KEY];
}

const ownNames = new Set<string>();

/** A logger whose lines go to stdout, where the worker reads them as the tick's log. */
function sensorLogger(name: string): Logger {
  const line =
    (level: string) =>
    (message: unknown, ...args: unknown[]) =>
      process.stdout.write(`[${name}] ${level} ${format(message, ...args)}\n`);
  return { debug: line('debug'), info: line('info'), warning: line('warning'), error: line('error'), critical: line('critical') };
}

/**
 * Defines a sensor: a function a worker of the deployment's pool evaluates every `intervalSeconds`,
 * inside your network, from the deployment's code. It returns the runs to request, each with a run
 * key (a key requested before creates nothing, so a sensor may safely ask again), and a cursor the
 * control plane keeps for the next tick.
 *
 * ```ts
 * export const newFiles = sensor({ name: 'new-files', intervalSeconds: 30 }, async ({ cursor }) => {
 *   const files = (await readdir(INBOX)).filter((f) => cursor === null || f > cursor).sort();
 *   return { runRequests: files.map((f) => ({ runKey: f, parameters: { file: f } })), cursor: files.at(-1) };
 * });
 * ```
 */
export function sensor(options: SensorOptions, fn: SensorFunction): Sensor {
  const parsed = sensorSchemas().SensorDefinitionInput.safeParse({
    name: options.name,
    intervalSeconds: options.intervalSeconds ?? 30,
    ...(options.description !== undefined ? { description: options.description } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`sensor '${options.name}': ${issue?.path.join('.') || 'options'}: ${issue?.message ?? 'invalid'}`);
  }
  const definition = parsed.data;
  if (ownNames.has(definition.name)) {
    throw new Error(`a sensor named '${definition.name}' is already defined; sensor names must be unique within a project`);
  }
  ownNames.add(definition.name);
  const entry: Sensor = {
    name: definition.name,
    intervalSeconds: definition.intervalSeconds,
    flow: options.flow ?? null,
    definition: () => definition,
    async evaluate({ cursor, lastTickAt, signal }) {
      const returned = await fn({
        cursor,
        lastTickAt,
        log: sensorLogger(definition.name),
        signal: signal ?? new AbortController().signal,
        sensorName: definition.name,
      });
      const result = sensorSchemas().SensorResult.safeParse(returned ?? {});
      if (!result.success) {
        const issue = result.error.issues[0];
        throw new Error(`sensor '${definition.name}' returned an invalid result: ${issue?.path.join('.')}: ${issue?.message}`);
      }
      return result.data;
    },
  };
  sensorRegistry().set(definition.name, entry);
  return entry;
}
