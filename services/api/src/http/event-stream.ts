import type { Logger } from '../logger.js';

const encoder = new TextEncoder();

export interface EventStreamOptions {
  /** Named in the log line when the client falls behind. */
  workspaceId: string;
  logger: Logger;
  /** A client this many bytes behind is disconnected; it reconnects and reads again. */
  maxBehindBytes: number;
  /** Called once when the stream ends, whoever ends it (the client, the server, or falling behind). */
  onEnd: () => void;
}

/**
 * One client's Server-Sent Events stream: what is written to it, and how it ends. Both event hubs
 * speak to their clients through it, so they disconnect a slow client and answer alike.
 */
export class EventStream {
  readonly response: Response;
  #controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  #ended = false;

  constructor(private readonly options: EventStreamOptions) {
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        cancel: () => this.end(),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
    );
    this.response = new Response(stream, {
      status: 200,
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The stream's first bytes. */
  connected(): void {
    // `retry` sets the browser's reconnect delay; the comment gets bytes (and headers) through buffering proxies.
    this.#controller?.enqueue(encoder.encode('retry: 2000\n: connected\n\n'));
  }

  write(text: string): void {
    const controller = this.#controller;
    if (this.#ended || !controller) return;
    if ((controller.desiredSize ?? 0) < -this.options.maxBehindBytes) {
      this.options.logger.warn(
        { workspaceId: this.options.workspaceId },
        'an event stream client fell too far behind; closing its stream',
      );
      this.end();
      return;
    }
    controller.enqueue(encoder.encode(text));
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.options.onEnd();
    try {
      this.#controller?.close();
    } catch {
      // already closed or cancelled by the client
    }
  }
}
