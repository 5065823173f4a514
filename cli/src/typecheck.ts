import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type ts from 'typescript';
import { CliError, EXIT } from './errors.js';

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
 */
export async function typecheckProject(projectDir: string, entrypoints: readonly string[], configFile?: string): Promise<void> {
  const { default: typescript } = await import('typescript');
  const roots = [...entrypoints.map((e) => resolve(projectDir, e)), ...(configFile ? [configFile] : [])];
  const options = compilerOptions(typescript, projectDir);
  // Type roots (`node_modules/@types`) are looked for from the current directory: the project's, not
  // wherever the CLI was started (`--config other/dir`).
  const host = typescript.createCompilerHost(options);
  host.getCurrentDirectory = () => projectDir;
  const program = typescript.createProgram({ rootNames: roots, options, host });
  const diagnostics = typescript.getPreEmitDiagnostics(program).filter((d) => d.category === typescript.DiagnosticCategory.Error);
  if (diagnostics.length > 0) throw new TypeCheckError(diagnostics.map((d) => formatDiagnostic(typescript, d, projectDir)));
}

function compilerOptions(typescript: typeof ts, projectDir: string): ts.CompilerOptions {
  const path = join(projectDir, 'tsconfig.json');
  // Only the project's own file: one found further up (a monorepo's, say) describes other code.
  if (!existsSync(path)) return defaults(typescript);
  const read = typescript.readConfigFile(path, typescript.sys.readFile);
  if (read.error) throw new TypeCheckError([formatDiagnostic(typescript, read.error, projectDir)]);
  const parsed = typescript.parseJsonConfigFileContent(read.config, typescript.sys, projectDir, undefined, path);
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
