import type { DeploymentRunCreateRequest } from '../contracts/manifests.js';
import type { RecordedResult, SuspendResponse, Wait, WaitCreateRequest } from '../contracts/waits.js';
import { decodeResult, encodeResult, NotCacheableError, sha256Hex } from './cache.js';
import { describeError, toError } from './errors.js';
import { log } from './logger.js';
import { type ResultStorage, resultStorageFromEnv } from './result-storage.js';
import type { TaskSlot } from './task-run.js';

/**
 * What the runtime asks of whoever keeps the run's durable waits: the worker, over the IPC channel,
 * which forwards each call to the control plane with the run token. Run locally there is none.
 */
export interface WaitPort {
  /** Begin one of the run's waits, or get it back by key (a replay); resolved at once when what it waits for already happened. */
  create(body: WaitCreateRequest): Promise<Wait>;
  /** The wait now, or once it stops WAITING within `holdSeconds` (at most 25). */
  get(waitId: string, holdSeconds: number): Promise<Wait>;
  /** Park the run on the wait; `suspended: false` with the resolved wait when it resolved meanwhile. */
  suspend(body: { waitId: string; results: RecordedResult[] }): Promise<SuspendResponse>;
  /** Where the results of the tasks earlier attempts completed were recorded. */
  replay(): Promise<RecordedResult[]>;
  /** Start a run of a deployment as this run's child, or get the one started before with the same key. */
  startDeploymentRun(body: DeploymentRunCreateRequest): Promise<StartedDeploymentRun>;
  /** The result a run stored, read from the result storage this process reaches; null when it holds none. */
  readRunResult(runId: string): Promise<{ value: unknown } | null>;
}

/** A deployment's run the flow started (`runDeployment`). */
export interface StartedDeploymentRun {
  id: string;
  name: string;
  /** False when an earlier call with the same key (a replay, a retried attempt) started it. */
  created: boolean;
}

/** A task the run completed: in this process (value in hand, maybe not written yet) or in an earlier attempt (recorded). */
interface Completed {
  taskRunId: string;
  taskKey: string;
  dynamicKey: string;
  value: unknown;
  /** Where the result storage keeps it, once written (or as recorded by the earlier attempt). */
  ref: string | null;
}

/** Why a run cannot be suspended: a completed result has no exact JSON form, or the storage refused it. */
export type SuspensionPlan = { ok: true; results: RecordedResult[] } | { ok: false; problem: string };

function slotId(taskKey: string, dynamicKey: string): string {
  return `${taskKey}\u0000${dynamicKey}`;
}

/**
 * The storage key of a task's recorded result: derived from the run and the task's place in it, so
 * any later attempt (on any worker sharing the storage) finds it without being told, and the key says
 * nothing about the value.
 */
export function recordedResultKey(runId: string, taskKey: string, dynamicKey: string): string {
  return `run-${sha256Hex(`recorded\u0000${runId}\u0000${taskKey}\u0000${dynamicKey}`)}`;
}

/**
 * The durable side of one worker-run flow run: its waits' keys in call order, the results of the
 * tasks it completed (so a suspension can record them), the tasks in flight (a suspension waits for
 * them), and, in an attempt after a suspension, the recorded results its completed tasks are
 * answered from. Task results are held by reference until the run ends, which is what lets a long
 * wait suspend at any point without having written anything before.
 */
export class RunDurability {
  private waitCalls = 0;
  private deploymentRunCalls = 0;
  private readonly completed = new Map<string, Completed>();
  private readonly recorded = new Map<string, RecordedResult>();
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    readonly port: WaitPort,
    readonly runId: string,
    private readonly storage: () => ResultStorage = () => resultStorageFromEnv(),
  ) {}

  /** `wait-1`, `wait-2`… in call order: the same code calls its waits in the same order on every attempt. */
  nextWaitKey(): string {
    this.waitCalls += 1;
    return `wait-${this.waitCalls}`;
  }

  /** `deployment-run-1`, `deployment-run-2`… in call order: the keys of `runDeployment` calls that give none. */
  nextDeploymentRunKey(): string {
    this.deploymentRunCalls += 1;
    return `deployment-run-${this.deploymentRunCalls}`;
  }

  /**
   * Learns what earlier attempts recorded; only an attempt after the first can have anything to
   * learn. Returns how many task results it learnt.
   */
  async loadReplay(attempt: number): Promise<number> {
    if (attempt <= 1) return 0;
    let results: RecordedResult[];
    try {
      results = await this.port.replay();
    } catch (error) {
      // A control plane without durable waits has no replay route, and no run of it ever suspended.
      if ((error as { code?: unknown }).code === 'not_found' && (error as { status?: unknown }).status === 404) return 0;
      throw error;
    }
    for (const result of results) this.recorded.set(slotId(result.taskKey, result.dynamicKey), result);
    return results.length;
  }

  /** The recorded result of the task call at `slot`, if an earlier attempt completed it. */
  recordedFor(slot: TaskSlot): RecordedResult | undefined {
    return this.recorded.get(slotId(slot.taskKey, slot.dynamicKey));
  }

  /**
   * The value an earlier attempt recorded, read back from the result storage. A result that cannot
   * be read stops the call: running the task again would repeat what it already did.
   */
  async answer(recorded: RecordedResult): Promise<unknown> {
    const key = recordedResultKey(this.runId, recorded.taskKey, recorded.dynamicKey);
    let bytes: Uint8Array | null;
    try {
      bytes = await this.storage().read(key);
    } catch (error) {
      throw new Error(
        `task ${recorded.taskKey}: its recorded result (${recorded.ref}) could not be read: ${describeError(toError(error))}`,
      );
    }
    const decoded = bytes ? decodeResult(bytes) : null;
    if (!decoded) {
      throw new Error(
        `task ${recorded.taskKey}: its recorded result (${recorded.ref}) is missing from the result storage; every worker that may resume this run must share OUTPOST_RESULT_STORAGE`,
      );
    }
    log.info(`task ${recorded.taskKey} answered from the recorded result`);
    this.completed.set(slotId(recorded.taskKey, recorded.dynamicKey), {
      taskRunId: recorded.taskRunId,
      taskKey: recorded.taskKey,
      dynamicKey: recorded.dynamicKey,
      value: decoded.value,
      ref: recorded.ref,
    });
    return decoded.value;
  }

  /** Runs one task call, remembering its result once it completes, and counting it in flight until it settles. */
  track<T>(identity: { taskRunId: string } & TaskSlot, call: Promise<T>): Promise<T> {
    const tracked = call.then((value) => {
      this.completed.set(slotId(identity.taskKey, identity.dynamicKey), { ...identity, value, ref: null });
      return value;
    });
    const settled = tracked.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.finally(() => this.inflight.delete(settled));
    return tracked;
  }

  /**
   * Ready the run to suspend: wait until no task is in flight (tasks a concurrent branch starts
   * meanwhile included), then write every completed result not yet written. Answers where each is,
   * or why the run cannot suspend.
   */
  async prepareSuspension(): Promise<SuspensionPlan> {
    for (;;) {
      while (this.inflight.size > 0) await Promise.all([...this.inflight]);
      const unwritten = [...this.completed.values()].filter((c) => c.ref === null);
      for (const entry of unwritten) {
        let bytes: Uint8Array;
        try {
          bytes = encodeResult(entry.value);
        } catch (error) {
          const why = error instanceof NotCacheableError ? error.message : describeError(toError(error));
          return { ok: false, problem: `the result of task ${entry.taskKey} cannot be recorded: ${why}` };
        }
        try {
          const key = recordedResultKey(this.runId, entry.taskKey, entry.dynamicKey);
          entry.ref = (await this.storage().write(key, bytes, { expiresAt: null })).ref;
        } catch (error) {
          return {
            ok: false,
            problem: `the result of task ${entry.taskKey} could not be written: ${describeError(toError(error))}`,
          };
        }
      }
      if (this.inflight.size > 0 || [...this.completed.values()].some((c) => c.ref === null)) continue;
      return {
        ok: true,
        results: [...this.completed.values()].map((c) => ({
          taskRunId: c.taskRunId,
          taskKey: c.taskKey,
          dynamicKey: c.dynamicKey,
          ref: c.ref ?? '',
        })),
      };
    }
  }
}
