import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type ts from 'typescript';
import { CliError, EXIT } from './errors.js';
import { checkKey, fileDigest, type TypecheckCache, type TypecheckInputs } from './typecheck-cache.js';

/**
 * What a project without a tsconfig.json is checked with: strict, and resolving imports the way
 * the bundler does (extensionless and `.ts` specifiers, top-level await), since esbuild builds it.
 */
function defaults(typescript: typeof ts): ts.CompilerOptions {
  return {
    strict: true,
    target: typescript.ScriptTarget.ES2022,
    module: typescript.ModuleKind.ESNext,
    moduleResolution: typescript.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
  };
}

/** The project has type errors: each is one `file:line:col  message` line, printed before the error. */
export class TypeCheckError extends CliError {
  constructor(readonly diagnostics: readonly string[]) {
    const n = diagnostics.length;
    super(
      `${n} type error${n === 1 ? '' : 's'}: nothing deployed; fix ${n === 1 ? 'it' : 'them'}, or pass --no-typecheck to skip the check`,
      EXIT.usage,
    );
  }
}

/**
 * Type-checks the entrypoints (and the config file, when given) with everything they import, using
 * the project's own tsconfig.json when it has one. Throws a TypeCheckError listing every error.
 * The compiler is loaded here, not at start-up: importing it costs a few hundred milliseconds.
 * With a cache, a check whose inputs are all as they were at its last pass is skipped (the result
 * says so) without loading the compiler; `checking` is called when the check really runs. A pass the
 * cache could not keep is still a pass: `unsaved` says why, for a warning.
 */
export async function typecheckProject(
  projectDir: string,
  entrypoints: readonly string[],
  configFile?: string,
  { cache, checking }: { cache?: TypecheckCache | undefined; checking?: () => void } = {},
): Promise<{ skipped: boolean; unsaved?: string }> {
  const roots = [...entrypoints.map((e) => resolve(projectDir, e)), ...(configFile ? [configFile] : [])];
  const key = checkKey(projectDir, roots);
  const compiler = compilerVersion();
  if (cache?.passed(key, compiler)) return { skipped: true };
  checking?.();
  const { default: typescript } = await import('typescript');
  const inputs = new InputRecorder(compiler);
  const options = compilerOptions(typescript, projectDir, inputs);
  // Type roots (`node_modules/@types`) are looked for from the current directory: the project's, not
  // wherever the CLI was started (`--config other/dir`).
  const host = typescript.createCompilerHost(options);
  host.getCurrentDirectory = () => projectDir;
  if (cache) inputs.watch(host);
  const program = typescript.createProgram({ rootNames: roots, options, host });
  const diagnostics = typescript.getPreEmitDiagnostics(program).filter((d) => d.category === typescript.DiagnosticCategory.Error);
  if (diagnostics.length > 0) throw new TypeCheckError(diagnostics.map((d) => formatDiagnostic(typescript, d, projectDir)));
  const kept = await cache?.recordPass(key, inputs.result());
  return kept?.kept === false ? { skipped: false, unsaved: kept.reason } : { skipped: false };
}

/**
 * The compiler's version, read without loading it, and the version of this check's own rules (its
 * defaults): a change to either makes every cached pass stale.
 */
function compilerVersion(): string {
  const path = createRequire(import.meta.url).resolve('typescript/package.json');
  const { version } = JSON.parse(readFileSync(path, 'utf8')) as { version?: string };
  return `typescript ${version ?? 'unknown'}; check 1`;
}

/** Notes what a check reads, looks for and lists, through the compiler host it uses. */
class InputRecorder {
  readonly #files: Record<string, string> = {};
  readonly #missing = new Set<string>();
  readonly #missingDirectories = new Set<string>();
  readonly #directories: Record<string, string[]> = {};

  constructor(readonly compiler: string) {}

  /** For the tsconfig chain; the compiler host's `readFile` goes through here too, once `watch`ed. */
  readFile = (path: string): string | undefined => this.#read(path, () => undefined);

  /** The file's text, its digest noted; `decodeUtf16` reads a file with a UTF-16 byte-order mark. */
  #read(path: string, decodeUtf16: () => string | undefined): string | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      this.#missing.add(path);
      return undefined;
    }
    this.#files[path] = fileDigest(bytes);
    if ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe)) return decodeUtf16();
    const text = bytes.toString('utf8');
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  exists = (path: string): boolean => {
    if (statSync(path, { throwIfNoEntry: false })?.isFile()) return true;
    this.#missing.add(path);
    return false;
  };

  watch(host: ts.CompilerHost): void {
    const { fileExists, directoryExists, getDirectories, readFile } = host;
    // UTF-16 files are decoded by the compiler's own reader.
    host.readFile = (path) => this.#read(path, () => readFile.call(host, path));
    host.fileExists = (path) => {
      const found = fileExists.call(host, path);
      if (!found) this.#missing.add(path);
      return found;
    };
    if (directoryExists) {
      host.directoryExists = (path) => {
        const found = directoryExists.call(host, path);
        if (!found) this.#missingDirectories.add(path);
        return found;
      };
    }
    if (getDirectories) {
      host.getDirectories = (path) => {
        try {
          this.#directories[path] = readdirSync(path).sort();
        } catch {
          this.#missingDirectories.add(path);
        }
        return getDirectories.call(host, path);
      };
    }
  }

  result(): TypecheckInputs {
    return {
      compiler: this.compiler,
      files: this.#files,
      missing: [...this.#missing].sort(),
      missingDirectories: [...this.#missingDirectories].sort(),
      directories: this.#directories,
    };
  }
}

function compilerOptions(typescript: typeof ts, projectDir: string, inputs: InputRecorder): ts.CompilerOptions {
  const path = join(projectDir, 'tsconfig.json');
  // Only the project's own file: one found further up (a monorepo's, say) describes other code.
  if (!inputs.exists(path)) return defaults(typescript);
  const read = typescript.readConfigFile(path, inputs.readFile);
  if (read.error) throw new TypeCheckError([formatDiagnostic(typescript, read.error, projectDir)]);
  // Read through the recorder, so a change to a tsconfig it extends counts as a change too.
  const configHost = { ...typescript.sys, fileExists: inputs.exists, readFile: inputs.readFile };
  const parsed = typescript.parseJsonConfigFileContent(read.config, configHost, projectDir, undefined, path);
  // "No inputs were found" (TS18003) concerns the tsconfig's own include, which the check does not use.
  const problems = parsed.errors.filter((d) => d.code !== 18003 && d.category === typescript.DiagnosticCategory.Error);
  if (problems.length > 0) throw new TypeCheckError(problems.map((d) => formatDiagnostic(typescript, d, projectDir)));
  // Checked only: whatever the project emits is for its own build, never for this one.
  return { ...parsed.options, noEmit: true };
}

/** `flows/a.ts:3:7  Type 'string' is not assignable to type 'number'. (TS2322)`, further lines of the chain indented. */
function formatDiagnostic(typescript: typeof ts, d: ts.Diagnostic, projectDir: string): string {
  const [first = '', ...rest] = typescript.flattenDiagnosticMessageText(d.messageText, '\n').split('\n');
  const message = [`${first} (TS${d.code})`, ...rest.map((line) => `    ${line.trim()}`)].join('\n');
  if (!d.file || d.start === undefined) return d.file ? `${shown(d.file.fileName, projectDir)}  ${message}` : message;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${shown(d.file.fileName, projectDir)}:${line + 1}:${character + 1}  ${message}`;
}

function shown(file: string, projectDir: string): string {
  const rel = relative(projectDir, file);
  return rel && !isAbsolute(rel) ? rel : file;
}
