import { isTerminal, type StateType } from '../contracts/states.js';
import type { TaskRunEvent } from '../contracts/task-runs.js';
import {
  type Context,
  contextFromTraceparent,
  endWithState,
  ROOT_CONTEXT,
  type Span,
  startLocalTracing,
  type Tracing,
  trace,
} from '../telemetry/index.js';
import type { Reporter } from './reporter.js';
import type { RunTracingHook } from './tracing-hook.js';

/** How long the flow process waits for its spans to be exported before it reports its end. */
const FLUSH_MS = 3000;

/**
 * The flow process's part of a run's trace: a `flow <name>` span under the worker's attempt span
 * (`TRACEPARENT`), and a `task <name>` span per task run, built from the task-run events the
 * reporter sends. Names, ids and states only: no parameter, argument or result is recorded.
 */
export class RunTracing implements RunTracingHook {
  readonly #tracing: Tracing;
  readonly #flow: Span;
  readonly #flowContext: Context;
  readonly #tasks = new Map<string, Span>();
  #finished: Promise<void> | null = null;

  private constructor(tracing: Tracing, flow: Span) {
    this.#tracing = tracing;
    this.#flow = flow;
    this.#flowContext = trace.setSpan(ROOT_CONTEXT, flow);
  }

  /** Null unless an OTLP endpoint and a `TRACEPARENT` are both set: without the worker's trace there is nothing to continue. */
  static async start(run: { id: string; attempt: number; flowName: string }, env = process.env): Promise<RunTracing | null> {
    if (!env.TRACEPARENT) return null;
    const tracing = await startLocalTracing('outpost-flow', env).catch(() => null);
    if (!tracing) return null;
    const flow = tracing.tracer.startSpan(
      `flow ${run.flowName}`,
      { attributes: { 'outpost.run_id': run.id, 'outpost.attempt': run.attempt } },
      contextFromTraceparent(env.TRACEPARENT),
    );
    return new RunTracing(tracing, flow);
  }

  observe(reporter: Reporter): void {
    const send = reporter.taskRunEvent.bind(reporter);
    reporter.taskRunEvent = (event) => {
      this.#taskEvent(event);
      send(event);
    };
  }

  #taskEvent(event: TaskRunEvent): void {
    if (event.kind === 'create') {
      const span = this.#tracing.tracer.startSpan(
        `task ${event.name}`,
        { attributes: { 'outpost.task_run_id': event.id, 'outpost.task_key': event.taskKey } },
        this.#flowContext,
      );
      this.#tasks.set(event.id, span);
      this.#taskState(event.id, span, event.state.type, event.runCount);
      return;
    }
    const span = this.#tasks.get(event.id);
    if (span) this.#taskState(event.id, span, event.state.type, event.runCount);
  }

  #taskState(id: string, span: Span, type: StateType, runCount: number | undefined): void {
    if (isTerminal(type)) {
      if (runCount !== undefined) span.setAttribute('outpost.run_count', runCount);
      endWithState(span, type, type === 'COMPLETED');
      this.#tasks.delete(id);
    } else if (runCount !== undefined && runCount > 1) {
      span.addEvent('retry', { 'outpost.run_count': runCount });
    }
  }

  /** Ends the flow span, and any task span still open, with the run's state. */
  finish(state: StateType | null): Promise<void> {
    this.#finished ??= (async () => {
      for (const span of this.#tasks.values()) span.end();
      this.#tasks.clear();
      if (state) endWithState(this.#flow, state, state === 'COMPLETED');
      else this.#flow.end();
      await this.#tracing.flush(FLUSH_MS);
      await this.#tracing.shutdown();
    })();
    return this.#finished;
  }
}
