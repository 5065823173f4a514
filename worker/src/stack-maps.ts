import { existsSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceMapConsumer } from 'source-map-js';

/** A stack frame's location: `file:///…/flows/etl.mjs:12:5` or `/…/flows/etl.mjs:12:5`. */
const FRAME = /(?:file:\/\/)?(\/[^\s():]+\.[cm]?js):(\d+):(\d+)/g;
/** A line of a stack trace (`    at …`), the only place locations are mapped. */
const STACK_LINE = /^\s*at\s/m;
const INLINE_MAP = /\/\/# sourceMappingURL=data:application\/json(?:;charset=[\w-]+)?;base64,([A-Za-z0-9+/=]+)\s*$/;

/**
 * Maps the locations in stack traces a flow prints from its bundle's JavaScript back to the flow's
 * own TypeScript, with the source maps the bundle carries (`outpost deploy` links one beside each
 * file; git sources built on the worker inline theirs). It runs on the worker, before a line is
 * redacted and leaves the network, and only for lines that hold a stack frame, so it costs nothing
 * on a run that does not fail. A frame whose file is not in the bundle, or has no map, is left as it is.
 * The flow may run elsewhere (a pod): a frame's path is matched to the bundle by its trailing segments.
 */
export class StackMapper {
  private readonly maps = new Map<string, SourceMapConsumer | null>();

  constructor(private readonly bundleDir: string) {}

  map(text: string): string {
    if (!STACK_LINE.test(text)) return text;
    return text.replace(FRAME, (frame, file: string, line: string, column: string) => {
      const found = this.mapFor(file);
      if (!found) return frame;
      const original = found.originalPositionFor({ line: Number(line), column: Number(column) - 1 });
      if (!original.source || original.line === null) return frame;
      return `${original.source}:${original.line}:${(original.column ?? 0) + 1}`;
    });
  }

  /** The bundle file a frame's path names, found by its path under the bundle or its trailing segments. */
  private bundleFile(file: string): string | null {
    const path = file.startsWith('file://') ? fileURLToPath(file) : file;
    if (path.startsWith(this.bundleDir + sep)) return path;
    const parts = path.split(sep).filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const candidate = join(this.bundleDir, ...parts.slice(i));
      if (existsSync(candidate)) return candidate;
    }
    return null;
  }

  private mapFor(file: string): SourceMapConsumer | null {
    const cached = this.maps.get(file);
    if (cached !== undefined) return cached;
    let found: SourceMapConsumer | null = null;
    try {
      const path = this.bundleFile(file);
      if (path) {
        const raw = existsSync(`${path}.map`)
          ? readFileSync(`${path}.map`, 'utf8')
          : (() => {
              const inline = INLINE_MAP.exec(readFileSync(path, 'utf8'));
              return inline ? Buffer.from(inline[1] as string, 'base64').toString('utf8') : null;
            })();
        if (raw) found = new SourceMapConsumer(JSON.parse(raw));
      }
    } catch {
      found = null;
    }
    this.maps.set(file, found);
    return found;
  }
}
