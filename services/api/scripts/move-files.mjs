#!/usr/bin/env node
/**
 * Moves source files and keeps every relative import pointing at them.
 *
 * Given pairs old=new (paths relative to the repository root, or a JSON file of { "old": "new" }),
 * it runs `git mv` for each and rewrites, in every .ts/.tsx/.mts/.mjs file under services/api (src,
 * test, scripts) and test/ (e2e, bench, support):
 * - each relative specifier that resolves to a moved file (`'./x.js'` for `x.ts` included), and
 * - each relative specifier inside a moved file, so it still reaches what it did.
 * A specifier is any string literal the TypeScript parser finds as the module of an import or
 * `export … from` (type-only included), the argument of `import()`, of an `import('…')` type, of
 * `vi.mock`/`vi.doMock`/`vi.importActual` and friends, or the first argument of `new URL(…, import.meta.url)`.
 * Only the literal's text changes; quotes and everything around it stay as they were.
 *
 * Usage: node services/api/scripts/move-files.mjs [--dry-run] old=new … | --map moves.json
 * Prints each move and each rewritten file; exits 1 with one line if a source is missing or a
 * destination exists.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SCANNED = ['services/api/src', 'services/api/test', 'services/api/scripts', 'test'];
const SOURCE = /\.(ts|tsx|mts|mjs)$/;
const MOCKS = new Set(['mock', 'doMock', 'unmock', 'doUnmock', 'importActual', 'importMock']);

function fail(message) {
  console.error(`move-files: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { dryRun: false, moves: new Map() };
  const add = (from, to) => args.moves.set(path.resolve(repo, from), path.resolve(repo, to));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dry-run') args.dryRun = true;
    else if (arg === '--map')
      for (const [from, to] of Object.entries(JSON.parse(readFileSync(argv[++i] ?? '', 'utf8')))) add(from, to);
    else if (arg.includes('=')) add(...arg.split('='));
    else fail(`unknown argument ${arg}; give old=new pairs or --map <file.json>`);
  }
  if (args.moves.size === 0) fail('nothing to move; give old=new pairs or --map <file.json>');
  return args;
}

function sourceFiles() {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (SOURCE.test(name) && !name.endsWith('.d.ts')) files.push(full);
    }
  };
  for (const dir of SCANNED) if (existsSync(path.join(repo, dir))) walk(path.join(repo, dir));
  return files;
}

/** String literals that name a module or file relative to their file: [{ start, end, text }]. */
function specifiersOf(file, text) {
  const kind = file.endsWith('.tsx') ? ts.ScriptKind.TSX : file.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const found = [];
  const take = (node) => {
    if (node && ts.isStringLiteralLike(node) && node.text.startsWith('.'))
      found.push({ start: node.getStart(source) + 1, end: node.getEnd() - 1, text: node.text });
  };
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) take(node.moduleSpecifier);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) take(node.argument.literal);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword) take(node.arguments[0]);
      else if (
        ts.isPropertyAccessExpression(callee) &&
        ts.isIdentifier(callee.expression) &&
        callee.expression.text === 'vi' &&
        MOCKS.has(callee.name.text)
      )
        take(node.arguments[0]);
    } else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'URL' &&
      node.arguments?.length === 2
    ) {
      const base = node.arguments[1];
      if (ts.isPropertyAccessExpression(base) && base.name.text === 'url' && ts.isMetaProperty(base.expression))
        take(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The moved file a specifier reaches, as [oldTarget, extension] ('.js' standing for '.ts'/'.tsx'). */
function resolve(from, specifier) {
  const target = path.resolve(path.dirname(from), specifier);
  if (/\.js$/.test(specifier)) {
    for (const ext of ['.ts', '.tsx']) {
      const candidate = target.replace(/\.js$/, ext);
      if (existsSync(candidate)) return { target: candidate, js: true };
    }
  }
  return { target, js: false };
}

function relativeSpecifier(fromFile, toFile, js) {
  let spec = path.relative(path.dirname(fromFile), toFile).split(path.sep).join('/');
  if (!spec.startsWith('.')) spec = `./${spec}`;
  return js ? spec.replace(/\.tsx?$/, '.js') : spec;
}

function main() {
  const { dryRun, moves } = parseArgs(process.argv.slice(2));
  for (const [from, to] of moves) {
    if (!existsSync(from)) fail(`${path.relative(repo, from)} does not exist`);
    if (existsSync(to)) fail(`${path.relative(repo, to)} already exists`);
  }
  const newPath = (file) => moves.get(file) ?? file;
  const edits = new Map();
  for (const file of sourceFiles()) {
    const text = readFileSync(file, 'utf8');
    const moved = moves.has(file);
    let out = '';
    let last = 0;
    for (const { start, end, text: specifier } of specifiersOf(file, text)) {
      const { target, js } = resolve(file, specifier);
      if (!moves.has(target) && !moved) continue;
      const rewritten = relativeSpecifier(newPath(file), newPath(target), js);
      if (rewritten === specifier) continue;
      out += text.slice(last, start) + rewritten;
      last = end;
    }
    if (last > 0) edits.set(file, out + text.slice(last));
  }
  for (const [from, to] of moves) {
    console.log(`move ${path.relative(repo, from)} → ${path.relative(repo, to)}`);
    if (dryRun) continue;
    mkdirSync(path.dirname(to), { recursive: true });
    execFileSync('git', ['-C', repo, 'mv', from, to]);
  }
  for (const [file, text] of edits) {
    console.log(`rewrite ${path.relative(repo, newPath(file))}`);
    if (!dryRun) writeFileSync(newPath(file), text);
  }
}

main();
