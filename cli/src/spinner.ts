import type { Colors } from './style.js';

/** What a command holds while it waits: the text beside the spinner, and the end of the wait. */
export interface Spinner {
  /** Whether it draws (a terminal); when it does not, nothing is written for it at all. */
  readonly animating: boolean;
  update(text: string): void;
  stop(): void;
}

export interface SpinnerOptions {
  /** Raw writes to the terminal (stderr), without a newline of their own. */
  write(chunk: string): void;
  /** Whether to draw at all: `animates()` for the stream. */
  enabled: boolean;
  colors: Colors;
  /** The terminal's width, to keep the spinner on one row (a wrapped row could not be cleared). */
  columns?(): number | undefined;
  /** @default 80 */
  intervalMs?: number;
  /**
   * Nothing is drawn before this: an answer that comes quickly leaves no flicker behind.
   * @default 150
   */
  delayMs?: number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\u001b[2K';

const IDLE: Spinner = { animating: false, update() {}, stop() {} };

/**
 * One spinner line at the bottom of stderr. Lines the command prints meanwhile go through
 * `line()`, which clears the spinner, writes the line and draws the spinner again below it, so
 * output and spinner never share a row.
 */
export class SpinnerHost {
  readonly #options: SpinnerOptions;
  #text = '';
  #frame = 0;
  #drawn = false;
  #active = false;
  #delay: ReturnType<typeof setTimeout> | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: SpinnerOptions) {
    this.#options = options;
  }

  /** Starts the spinner with `text`; a second start replaces the first (one spinner at a time). */
  start(text: string): Spinner {
    if (!this.#options.enabled) return IDLE;
    this.stop();
    this.#text = text;
    this.#active = true;
    this.#delay = setTimeout(() => {
      this.#delay = null;
      this.#draw();
      this.#timer = setInterval(() => {
        this.#frame = (this.#frame + 1) % FRAMES.length;
        this.#draw();
      }, this.#options.intervalMs ?? 80);
      this.#timer.unref();
    }, this.#options.delayMs ?? 150);
    this.#delay.unref();
    let stopped = false;
    return {
      animating: true,
      update: (next) => {
        if (stopped) return;
        this.#text = next;
        if (this.#drawn) this.#draw();
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        this.stop();
      },
    };
  }

  /** Writes one line of output above the spinner. */
  line(text: string, write: (line: string) => void): void {
    if (!this.#drawn) {
      write(text);
      return;
    }
    this.#options.write(CLEAR_LINE);
    this.#drawn = false;
    write(text);
    this.#draw();
  }

  /** Stops whatever spins and clears its line; safe to call when nothing does. */
  stop(): void {
    if (this.#delay) clearTimeout(this.#delay);
    if (this.#timer) clearInterval(this.#timer);
    this.#delay = null;
    this.#timer = null;
    this.#active = false;
    if (this.#drawn) this.#options.write(CLEAR_LINE);
    this.#drawn = false;
  }

  #draw(): void {
    if (!this.#active) return;
    const c = this.#options.colors;
    // A terminal that reports no width (0, as a fresh pseudo-terminal may) is taken as 80 columns.
    const room = (this.#options.columns?.() || 80) - 3;
    const text = this.#text.length > room ? `${this.#text.slice(0, Math.max(0, room - 1))}…` : this.#text;
    this.#options.write(`${CLEAR_LINE}${c.cyan(FRAMES[this.#frame]!)} ${c.dim(text)}`);
    this.#drawn = true;
  }
}
