import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A file rewritten as a whole: each write goes to a temporary file beside it, renamed
 * over the old one, so a reader (or a crash) never meets half a file. Writes never overlap, since
 * they share the temporary file: each starts when the one before has finished, failed or not.
 */
export class WholeFile {
  readonly path: string;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /** Writes what `text()` returns, read when this write's turn comes. */
  async write(text: () => string): Promise<void> {
    const write = async () => {
      const body = text();
      await mkdir(dirname(this.path), { recursive: true });
      const temporary = `${this.path}.${process.pid}.tmp`;
      await writeFile(temporary, body);
      await rename(temporary, this.path);
    };
    this.#writing = this.#writing.then(write, write);
    await this.#writing;
  }
}
