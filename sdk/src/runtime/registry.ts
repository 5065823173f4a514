import type { IpcPort } from './ipc-channel.js';
import type { StartMessage } from './protocol.js';

/** The global key under which flows register; shared by every copy of the SDK in a process. */
export const FLOW_REGISTRY_KEY = Symbol.for('outpost.flows');

/** What the runner and `outpost deploy` see of a flow defined with `flow()`. */
export interface RegisteredFlow {
  readonly name: string;
  /** The parameters' draft 2020-12 JSON schema, or null for a flow without parameters. */
  parameterSchema(): Record<string, unknown> | null;
  /**
   * Run the flow as the worker's run `start.run`, reporting over this process's IPC channel (or
   * `port`, an in-memory stand-in for it). Resolves after `done` is written.
   */
  execute(start: StartMessage, port?: IpcPort): Promise<void>;
  /**
   * True when this copy of the SDK reads the run's context fields in `start.run` (deployment name,
   * scheduled time, schedule, tags, partition key). A bundle built with an older SDK checks the
   * start message strictly and would refuse them, so the runner sends it the older fields only.
   */
  readonly acceptsRunContext?: boolean;
  /**
   * Loads and builds what `execute` needs before a run is given (`prepareRun`): a flow process that
   * imported its bundle ahead of its run (a warm start) calls it then. Absent in older bundles.
   */
  prepare?(): Promise<void>;
}

/** The registry, created on first use. */
export function flowRegistry(): Map<string, RegisteredFlow> {
  const holder = globalThis as { [FLOW_REGISTRY_KEY]?: Map<string, RegisteredFlow> };
  holder[FLOW_REGISTRY_KEY] ??= new Map();
  return holder[FLOW_REGISTRY_KEY];
}

/*
 * Names this copy of the SDK registered. Two definitions with one name in the same module graph are
 * a mistake and fail loudly; a definition from another copy of the SDK (another bundle loaded into
 * the same process, as `outpost deploy` does) replaces the earlier entry instead.
 */
const ownNames = new Set<string>();

export function registerFlow(entry: RegisteredFlow): void {
  if (ownNames.has(entry.name)) {
    throw new Error(`a flow named '${entry.name}' is already defined; flow names must be unique within a project`);
  }
  ownNames.add(entry.name);
  flowRegistry().set(entry.name, entry);
}
