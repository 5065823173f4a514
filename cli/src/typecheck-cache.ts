import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { WholeFile } from './whole-file.js';

/**
 * Everything a passing type-check depended on: the content of each file the compiler read (sources,
 * the SDK's and the libraries' declarations, the tsconfig chain), each path it looked for and did not
 * find (a file added there could change what an import resolves to), the directories it listed (type
 * roots), and the compiler's version. The same inputs give the same answer, so the check can be skipped.
 */
const Inputs = z.object({
  compiler: z.string(),
  /** sha256 of each file read, by absolute path. */
  files: z.record(z.string(), z.string()),
  /** Files looked for and not found (a directory of that name is not a file). */
  missing: z.array(z.string()),
  /** Directories looked for and not found. */
  missingDirectories: z.array(z.string()),
  /** The sorted entries of each directory listed, by absolute path. */
  directories: z.record(z.string(), z.array(z.string())),
});
export type TypecheckInputs = z.infer<typeof Inputs>;

const CacheFile = z.object({
  version: z.literal(1),
  /** By check (project directory and root files): the inputs of its last pass. */
  checks: z.record(z.string(), Inputs),
});

/**
 * The last passing type-check of each project deployed, kept in .outpost/typecheck.json (`outpost
 * dev` keeps one in its own directory, `outpost deploy` one in the project's), so a restart or a
 * redeploy with nothing changed skips a check that costs seconds (measured: 2 to 3.5 s per example,
 * most of a restart's time, and three quarters of the CLI's own work in a deploy). Only passes are
 * kept: a project with a type error is checked (and refused) every time.
 */
export class TypecheckCache {
  readonly #file: WholeFile;
  readonly #checks: Map<string, TypecheckInputs>;

  private constructor(path: string, checks: Map<string, TypecheckInputs>) {
    this.#file = new WholeFile(path);
    this.#checks = checks;
  }

  /** The cache at `path`; an empty one when the file is missing or unreadable (everything is then checked). */
  static async open(path: string): Promise<TypecheckCache> {
    let raw: unknown = null;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      // Missing, torn or unreadable: start afresh, which costs one full check per project.
    }
    const parsed = CacheFile.safeParse(raw);
    return new TypecheckCache(path, new Map(parsed.success ? Object.entries(parsed.data.checks) : []));
  }

  /** Whether the check named `key` passed before with exactly the inputs it would read now. */
  passed(key: string, compiler: string): boolean {
    const last = this.#checks.get(key);
    return last !== undefined && unchanged(last, compiler);
  }

  /**
   * Records a pass and writes the file (saves never overlap, so concurrent checks each keep theirs).
   * A file that cannot be written (a read-only checkout, say) costs only a check next time: the
   * reason is returned, for a warning, and nothing is thrown.
   */
  async recordPass(key: string, inputs: TypecheckInputs): Promise<{ kept: true } | { kept: false; reason: string }> {
    this.#checks.set(key, inputs);
    const body = { version: 1, checks: Object.fromEntries(this.#checks) } satisfies z.infer<typeof CacheFile>;
    const text = `${JSON.stringify(body)}\n`;
    try {
      await this.#file.write(() => text);
      return { kept: true };
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      return { kept: false, reason: `cannot write ${this.#file.path} (${code ?? message})` };
    }
  }
}

/** The key of a check: the project and its root files, whatever order they are given in. */
export function checkKey(projectDir: string, roots: readonly string[]): string {
  return JSON.stringify([projectDir, [...roots].sort()]);
}

export function fileDigest(bytes: string | Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function unchanged(last: TypecheckInputs, compiler: string): boolean {
  if (last.compiler !== compiler) return false;
  for (const path of last.missing) if (statSync(path, { throwIfNoEntry: false })?.isFile()) return false;
  for (const path of last.missingDirectories) if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) return false;
  for (const [path, entries] of Object.entries(last.directories)) {
    let now: string[];
    try {
      now = readdirSync(path).sort();
    } catch {
      return false;
    }
    if (now.length !== entries.length || now.some((entry, i) => entry !== entries[i])) return false;
  }
  for (const [path, digest] of Object.entries(last.files)) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      return false;
    }
    if (fileDigest(bytes) !== digest) return false;
  }
  return true;
}
