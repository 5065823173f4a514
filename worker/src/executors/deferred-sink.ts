import type { AttemptSink } from './executor.js';

/** Output of an adopted attempt kept until the worker knows whether it holds the run, up to this many events. */
const MAX_HELD = 10_000;

type Held =
  | { kind: 'line'; stream: 'stdout' | 'stderr'; text: string }
  | { kind: 'message'; raw: unknown }
  | { kind: 'note'; level: Parameters<AttemptSink['note']>[0]; text: string };

/**
 * The sink of an attempt adopted after a restart, before the API has said whether this worker
 * takes over its run: output waits here, then goes to the run's report (taken over) or nowhere
 * (refused, and the attempt is stopped).
 */
export class DeferredSink implements AttemptSink {
  private target: AttemptSink | null = null;
  private held: Held[] = [];

  line(stream: 'stdout' | 'stderr', text: string): void {
    if (this.target) this.target.line(stream, text);
    else this.hold({ kind: 'line', stream, text });
  }

  message(raw: unknown): void {
    if (this.target) this.target.message(raw);
    else this.hold({ kind: 'message', raw });
  }

  note(level: Parameters<AttemptSink['note']>[0], text: string): void {
    if (this.target) this.target.note(level, text);
    else this.hold({ kind: 'note', level, text });
  }

  private hold(event: Held): void {
    if (this.held.length < MAX_HELD) this.held.push(event);
  }

  /** From now on everything goes to `target`, first what waited. */
  bind(target: AttemptSink): void {
    this.target = target;
    const held = this.held;
    this.held = [];
    for (const event of held) {
      if (event.kind === 'line') target.line(event.stream, event.text);
      else if (event.kind === 'message') target.message(event.raw);
      else target.note(event.level, event.text);
    }
  }
}
