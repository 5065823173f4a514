/**
 * Splits a byte stream into `\n`-terminated lines of at most `maxBytes` each, holding at most one
 * line in memory: a longer line is dropped as it arrives and reported by its size once it ends.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes of the line being dropped, or -1 when none is. */
  private skipped = -1;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const piece = chunk.subarray(start, newline === -1 ? chunk.length : newline);
      if (this.skipped >= 0) {
        this.skipped += piece.length;
      } else if (this.size + piece.length > this.maxBytes) {
        this.skipped = this.size + piece.length;
        this.parts = [];
        this.size = 0;
      } else if (piece.length > 0) {
        this.parts.push(piece);
        this.size += piece.length;
      }
      if (newline === -1) return;
      this.endLine();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without its newline still counts. */
  end(): void {
    if (this.skipped >= 0 || this.size > 0) this.endLine();
  }

  private endLine(): void {
    if (this.skipped >= 0) {
      const bytes = this.skipped;
      this.skipped = -1;
      this.onTooLong(bytes);
      return;
    }
    const text = Buffer.concat(this.parts, this.size).toString('utf8');
    this.parts = [];
    this.size = 0;
    this.onLine(text.endsWith('\r') ? text.slice(0, -1) : text);
  }
}
