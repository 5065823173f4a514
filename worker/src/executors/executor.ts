import type { ClaimedRun } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import type { WorkerOptions } from '../options.js';
import type { LogInput } from '../ship-logs.js';
import type { FetchedBundle } from '../sources/pull.js';
import type { ParentMessage } from './messages.js';

/*
 * An executor runs one claimed, prepared run attempt somewhere — a process group on this machine
 * today, a Kubernetes Job per attempt tomorrow — and carries the runtime protocol between the flow
 * and the worker. It knows nothing of the API: claiming, leases, run tokens, states, task runs and
 * log delivery stay with the worker, which talks to every executor through this interface only.
 */

/** A run whose source is fetched and whose variables are resolved: everything an executor needs to start it. */
export interface PreparedRun {
  readonly claimed: ClaimedRun;
  readonly runId: string;
  readonly attempt: number;
  /** The flow's code, fetched and verified by the worker; an executor that runs elsewhere reads `claimed.deployment.source`. */
  readonly bundle: FetchedBundle;
  /** The deployment's `jobVariables.env` with its secrets resolved. */
  readonly jobEnv: Record<string, string>;
  /** The run's own variables: `jobEnv` plus `OUTPOST_RUN_ID`, `OUTPOST_RUN_ATTEMPT`, `OUTPOST_FLOW_NAME`. */
  readonly runEnv: Record<string, string>;
}

/** Where an attempt's output goes: the worker's redaction, spool and delivery path. */
export interface AttemptSink {
  /** A line the flow wrote to stdout or stderr, in the order written. */
  line(stream: 'stdout' | 'stderr', text: string): void;
  /** A runtime-protocol message from the flow, not yet validated. */
  message(raw: unknown): void;
  /** A line of the worker's own about this attempt (why it did not start, for one). */
  note(level: LogInput['level'], text: string): void;
}

/** How an attempt ended. */
export interface AttemptExit {
  /** The flow's exit code; null when it was killed. */
  code: number | null;
  /** The signal that killed it, if one did. */
  signal: NodeJS.Signals | null;
  /** What the platform says ended it, when it says more than a code (`OOMKilled`, `Evicted`…). */
  reason?: string;
}

/**
 * How the worker wants an attempt stopped. Every mode ends with nothing of the attempt running;
 * the executor's grace periods (`--cancel-grace`, the cancel notice) apply.
 */
export type StopRequest =
  /** At once, with no grace: the worker no longer holds the run, and a retry may start elsewhere. */
  | { mode: 'kill' }
  /** Terminate, then kill after the cancel grace: the flow may clean up, but must not record a state. */
  | { mode: 'terminate' }
  /** Ask the runtime to cancel (it records CANCELLED), wait the notice period, then terminate. */
  | { mode: 'cancel'; reason: string }
  /** The runtime was already told it is over: wait the notice period for it to exit, then terminate. */
  | { mode: 'await-exit' };

/** Where an attempt runs, as its run's manifest records it. */
export interface AttemptEnvironment {
  /** The executor's kind (`process`, `kubernetes`). */
  executor: string;
  /** The Node.js version the flow runs on (`v20.19.0`), when known. */
  nodeVersion: string | null;
  /** The container image the flow runs in (Kubernetes), as requested. */
  image: string | null;
  /** The image's digest as the node pulled it (`sha256:…`), once known. */
  imageDigest: string | null;
}

/** One started attempt. */
export interface Attempt {
  readonly runId: string;
  readonly attempt: number;
  /** Resolves once the flow has exited (its main process, its pod). Never rejects. */
  readonly exited: Promise<AttemptExit>;
  /** The flow has exited (`exited` is about to resolve, or has). */
  readonly hasExited: boolean;
  /** Sends one protocol message to the flow; false when it can no longer receive one. */
  send(message: ParentMessage): boolean;
  /** Stops the attempt as asked; resolves when nothing of it runs. A later, stronger request may follow. */
  stop(request: StopRequest): Promise<void>;
  /**
   * After `exited`: removes whatever the attempt left behind (processes of its group, a finished
   * Job) and waits, briefly, for its output to end. Nothing reaches the sink after this resolves.
   */
  cleanUp(): Promise<void>;
  /**
   * Where the attempt runs, for the run's manifest; resolves once that is known (a pod's image digest
   * once its container started) or with what is known when the attempt ends first. Never rejects.
   */
  environment?(): Promise<AttemptEnvironment>;
}

/** An attempt an executor found still running after a worker restart, re-attached to a new sink. */
export interface AdoptedAttempt {
  readonly runId: string;
  readonly attempt: number;
  readonly handle: Attempt;
}

export interface Executor {
  /** A short name for logs (`process`, `kubernetes`). */
  readonly kind: string;
  /**
   * Whether `adopt` can ever find anything. A process executor cannot: a flow process dies with
   * the worker that started it (its watchdog sees to that).
   */
  readonly canAdopt: boolean;
  /** The worker is running: start whatever the executor keeps ready ahead of need. Called once. */
  open(): void;
  /**
   * Starts an attempt of a prepared run, sending its output to `sink`; resolves once it is started
   * (not once it has said anything). The flow is handed its run (`start`) once it is ready, unless
   * `stopped` was aborted by then: the worker decided to stop the run and follows with `stop()`.
   * Rejects with `AttemptAlreadyStarted` while an attempt of the same run and number is live on
   * this executor, and with any other error when it could not start.
   */
  start(run: PreparedRun, sink: AttemptSink, stopped: AbortSignal): Promise<Attempt>;
  /**
   * Attempts this executor's earlier life started that still run (Kubernetes: its Jobs, found by
   * label), each re-attached: its output from now on goes to the sink `sinkFor` returns for it.
   */
  adopt(sinkFor: (run: { runId: string; attempt: number }) => AttemptSink): Promise<AdoptedAttempt[]>;
  /**
   * The worker is stopping and its attempts have ended or been stopped (a drain waits for them
   * first: they may need what the executor holds to end). Stop what `open` started and let go of
   * connections; an attempt still running (a Kubernetes Job) is left to its run.
   */
  close(): Promise<void>;
}

/** What the worker gives an executor to build itself. */
export interface ExecutorContext {
  options: WorkerOptions;
  logger: Logger;
  /** The environment every flow of this worker shares (`baseChildEnv`). */
  baseEnv: Record<string, string>;
  /**
   * The worker's pool as the API last described it (a Kubernetes pool's base job template), read
   * afresh at most every half minute; null when it could not be read. Absent in tests that run an
   * executor without an API.
   */
  pool?: () => Promise<{ baseJobTemplate?: unknown } | null>;
}

export type MakeExecutor = (context: ExecutorContext) => Executor;

/** A second start of an attempt that is still live: refused, so one attempt never runs twice. */
export class AttemptAlreadyStarted extends Error {
  override readonly name = 'AttemptAlreadyStarted';

  constructor(runId: string, attempt: number) {
    super(`attempt ${attempt} of run ${runId} is already running on this executor`);
  }
}

/**
 * A run this executor will not start as it is configured (a Kubernetes job variable outside the
 * worker's bounds, one that cannot become a Job): the run fails with a configuration error, which
 * is never retried, since every attempt would be refused the same way.
 */
export class AttemptRefused extends Error {
  override readonly name: string = 'AttemptRefused';
}

/** `<runId>#<attempt>`: one live attempt per key. */
export function attemptKey(run: { runId: string; attempt: number }): string {
  return `${run.runId}#${run.attempt}`;
}
