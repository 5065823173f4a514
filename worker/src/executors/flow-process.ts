import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { killGroup, liveGroupMembers, terminateGroup, waitForGroupExit } from '../process-group.js';
import { type ParentMessage, PreloadedMessage } from './messages.js';

/** The file behind `@outpost/sdk/runner`: the program every flow process runs. */
export function runnerPath(): string {
  const resolveSpecifier = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolveSpecifier === 'function') {
    try {
      return fileURLToPath(resolveSpecifier('@outpost/sdk/runner'));
    } catch {
      // Some loaders (test runners among them) do not implement import.meta.resolve; require's resolver reads the same exports map.
    }
  }
  return createRequire(import.meta.url).resolve('@outpost/sdk/runner');
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface FlowProcessHandlers {
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  onMessage: (message: unknown) => void;
}

export interface FlowProcessOptions extends Partial<FlowProcessHandlers> {
  script: string;
  args?: string[];
  /** Node options before the script, e.g. `--import` of a module that registers a result store. */
  execArgv?: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Output and messages of a process nobody listens to yet (a pre-started one) wait here, up to a limit. */
const MAX_BUFFERED_EVENTS = 10_000;

type BufferedEvent = { kind: 'line'; stream: 'stdout' | 'stderr'; line: string } | { kind: 'message'; message: unknown };

/**
 * One flow process: the leader of its own process group, stdout/stderr read line by line, an IPC
 * channel for the runtime protocol. Stopping it always means the whole group.
 */
export class FlowProcess {
  readonly pid: number;
  /** Resolves when the leader exits (its group may outlive it; see `reap`). */
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private readonly streamsClosed: Promise<void>;
  private exitInfo: ExitInfo | null = null;
  private handlers: FlowProcessHandlers | null = null;
  private sawReady = false;
  /** True once the runner says `ready`; false if it exits first. */
  private readonly saidReady: Promise<boolean>;
  private onReady!: () => void;
  /** A warm start's answer to `preload`, kept apart from the run's messages. */
  private onPreloaded: ((answer: PreloadedMessage) => void) | null = null;
  private buffered: BufferedEvent[] = [];
  private dropped = 0;

  private constructor(child: ChildProcess, options: FlowProcessOptions) {
    if (options.onLine && options.onMessage) this.handlers = { onLine: options.onLine, onMessage: options.onMessage };
    this.child = child;
    this.pid = child.pid!;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    this.saidReady = new Promise<boolean>((resolve) => {
      this.onReady = () => resolve(true);
      void this.exited.then(() => resolve(false));
    });
    const closes: Promise<void>[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = child[stream];
      if (!readable) continue;
      const lines = createInterface({ input: readable, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('line', (line) => this.emit({ kind: 'line', stream, line }));
      closes.push(new Promise((resolve) => lines.once('close', () => resolve())));
    }
    this.streamsClosed = Promise.all(closes).then(() => undefined);
    child.on('message', (message: unknown) => this.emit({ kind: 'message', message }));
    // Writes to a closed channel surface here; the exit handler decides what that means.
    child.on('error', () => {});
  }

  /**
   * Starts delivering output and messages to `handlers`, first everything that arrived before
   * (a pre-started process's `ready`, for one). Later calls replace the handlers.
   */
  attach(handlers: FlowProcessHandlers): void {
    this.handlers = handlers;
    const pending = this.buffered;
    this.buffered = [];
    if (this.dropped > 0) handlers.onLine('stderr', `[${this.dropped} lines of output before the run started were dropped]`);
    this.dropped = 0;
    for (const event of pending) this.deliver(handlers, event);
  }

  /** The runner said `ready`: Node is up, the runner listens and waits for `start`. */
  get isReady(): boolean {
    return this.sawReady;
  }

  /**
   * Asks the runner to import the bundle now, before a run is handed over (a warm start). Resolves
   * with its answer, or null if the process exits (or the channel closes) first. The answer is not
   * one of the run's messages: it never reaches the handlers.
   */
  async preload(entry: string, cwd: string, env: Record<string, string>): Promise<PreloadedMessage | null> {
    // The runner listens from before its `ready`; a message sent earlier could be lost.
    if (!(await this.saidReady)) return null;
    const answer = new Promise<PreloadedMessage | null>((resolve) => {
      this.onPreloaded = resolve;
      void this.exited.then(() => resolve(null));
    });
    if (!this.send({ t: 'preload', entry, cwd, env })) return null;
    return answer;
  }

  private emit(event: BufferedEvent): void {
    // An answer nobody asked for (a flow calling process.send itself) goes where the run's messages go.
    if (event.kind === 'message' && this.onPreloaded && (event.message as { t?: unknown } | null)?.t === 'preloaded') {
      const parsed = PreloadedMessage.safeParse(event.message);
      if (parsed.success) {
        const answered = this.onPreloaded;
        this.onPreloaded = null;
        answered(parsed.data);
        return;
      }
    }
    if (event.kind === 'message' && (event.message as { t?: unknown } | null)?.t === 'ready') {
      this.sawReady = true;
      this.onReady();
    }
    if (this.handlers) this.deliver(this.handlers, event);
    else if (this.buffered.length < MAX_BUFFERED_EVENTS) this.buffered.push(event);
    else this.dropped++;
  }

  private deliver(handlers: FlowProcessHandlers, event: BufferedEvent): void {
    if (event.kind === 'line') handlers.onLine(event.stream, event.line);
    else handlers.onMessage(event.message);
  }

  /** Spawns the process, or throws the spawn error (ENOENT, EACCES…). */
  static async start(options: FlowProcessOptions): Promise<FlowProcess> {
    const child = spawn(process.execPath, [...(options.execArgv ?? []), options.script, ...(options.args ?? [])], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    return new FlowProcess(child, options);
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  get connected(): boolean {
    return this.child.connected;
  }

  /** Sends one protocol message; false when the channel is gone (the process is exiting). */
  send(message: ParentMessage): boolean {
    if (!this.child.connected) return false;
    try {
      this.child.send(message, () => {});
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves true if the leader exits within `ms`. */
  async waitForExit(ms: number): Promise<boolean> {
    if (this.hasExited) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  /**
   * The cancel protocol: with a `notice`, ask the runtime to stop (`cancel` message) and wait
   * `notice.waitMs`; then SIGTERM the group, wait `graceMs`, SIGKILL it. Resolves once no process of
   * the group runs.
   */
  async stop(graceMs: number, notice?: { reason: string; waitMs: number }): Promise<void> {
    if (notice && this.send({ t: 'cancel', reason: notice.reason }) && notice.waitMs > 0) {
      await this.waitForExit(notice.waitMs);
      if (this.hasExited) await waitForGroupExit(this.pid, Math.min(notice.waitMs, 500));
    }
    await terminateGroup(this.pid, graceMs);
  }

  /** Kills the whole group at once, no questions asked (lost lease, superseded attempt). */
  async kill(): Promise<void> {
    await killGroup(this.pid);
  }

  /**
   * After the leader exits, anything it left behind in its group (a background server, a stray
   * subprocess) is terminated too, so a finished run never leaves processes running. Then waits,
   * briefly, for the output pipes to drain.
   */
  async reap(graceMs: number): Promise<void> {
    if (liveGroupMembers(this.pid).length > 0) await terminateGroup(this.pid, graceMs);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.streamsClosed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
    // A process that left the group (setsid) may still hold the pipes; the run's output ends here regardless.
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    if (this.child.connected) this.child.disconnect();
  }
}
