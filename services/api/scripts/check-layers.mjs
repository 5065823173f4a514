#!/usr/bin/env node
/**
 * Keeps the API's rooms layered: no import runs back up.
 *
 * A room is a top-level folder of src/ (`runs/`, `identity/`, `db/` …), a feature's own `db/` folder
 * (`runs/db/`), or a top-level file. The rules, over every static import, `export … from` and
 * literal dynamic `import()`:
 * 1. The composition root — context.ts, app.ts, server.ts, main.ts, index.ts — is imported only by
 *    itself and by test support (which starts servers), except that any module may `import type`
 *    from context.ts (AppDeps: what a handler or a loop is given).
 * 2. Test support (`testing/`, and `testing*.ts` until it lives there) is imported by no room but
 *    its own: the suites import it, the product never does.
 * 3. The rooms, composition root aside, form no cycle, type-only imports included: there is one
 *    order from the lowest room to the highest, and each room imports only rooms below it.
 *    `--order` prints that order.
 * 4. No cycle of value imports between files, inside a room or across rooms: ESM evaluates a
 *    cycle's modules in an order that depends on who imports first.
 *
 * Usage: node scripts/check-layers.mjs [--root <src dir>] [--order]
 * Exits 1 with one line a broken rule (and the imports that break it), 0 otherwise.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const COMPOSITION = new Set(['context.ts', 'app.ts', 'server.ts', 'main.ts', 'index.ts']);
const TYPES_ROOT = 'context.ts';

function parseArgs(argv) {
  const args = { root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src'), order: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root') args.root = path.resolve(argv[++i] ?? '');
    else if (argv[i] === '--order') args.order = true;
    else {
      console.error(`check-layers: unknown argument ${argv[i]}; use --root <dir> or --order`);
      process.exit(2);
    }
  }
  return args;
}

function sourceFiles(root) {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) {
        if (name !== 'node_modules') walk(full);
      } else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) files.push(full);
    }
  };
  walk(root);
  return files;
}

/** Relative imports of one file: { target (relative to root), typeOnly }. */
function importsOf(file, root) {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const found = [];
  const add = (specifier, typeOnly) => {
    if (!specifier.startsWith('.')) return;
    const resolved = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
    found.push({ target: path.relative(root, resolved), typeOnly });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : null;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly || (!clause.name && named !== null && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length === 1 &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The room of a path relative to root: its top folder, or the file itself. A feature's `db/` folder
 * (`runs/db/`) is a room of its own, below its feature: rooms under the feature may read the
 * feature's tables through it, and it may import neither its feature nor any room above it.
 */
function roomOf(relative) {
  const parts = relative.split(path.sep);
  const top = parts[0];
  if (parts.length === 1) return /^testing([.-]|$)/.test(top) ? 'testing/' : top;
  if (parts.length > 2 && parts[1] === 'db' && top !== 'db') return `${top}/db/`;
  return `${top}/`;
}

/** Strongly connected components (Tarjan), each of more than one node or with a self-loop. */
function cycles(nodes, edgesOf) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const connect = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edgesOf(v)) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) connect(v);
  return found;
}

export function checkLayers(root) {
  const problems = [];
  const files = sourceFiles(root).map((f) => path.relative(root, f));
  const known = new Set(files);
  const roomEdges = new Map(); // room -> Map(room -> [file -> target])
  const valueEdges = new Map(); // file -> Set(file)
  for (const file of files) {
    const from = roomOf(file);
    valueEdges.set(file, new Set());
    for (const { target, typeOnly } of importsOf(path.join(root, file), root)) {
      if (!known.has(target)) continue;
      const to = roomOf(target);
      if (!typeOnly) valueEdges.get(file).add(target);
      if (COMPOSITION.has(target) && !COMPOSITION.has(from) && from !== 'testing/') {
        if (!(target === TYPES_ROOT && typeOnly))
          problems.push(`${file} imports ${target}: only \`import type\` from ${TYPES_ROOT} may reach the composition root`);
        continue;
      }
      if (to === 'testing/' && from !== 'testing/') {
        problems.push(`${file} imports ${target}: test support is for the suites, never the product`);
        continue;
      }
      if (COMPOSITION.has(from) || COMPOSITION.has(target) || from === to) continue;
      if (!roomEdges.has(from)) roomEdges.set(from, new Map());
      const byRoom = roomEdges.get(from);
      if (!byRoom.has(to)) byRoom.set(to, []);
      byRoom.get(to).push(`${file} → ${target}`);
    }
  }
  const rooms = [...new Set(files.map(roomOf))].filter((r) => !COMPOSITION.has(r)).sort();
  const edgesOf = (room) => [...(roomEdges.get(room)?.keys() ?? [])];
  for (const component of cycles(rooms, edgesOf)) {
    const inside = new Set(component);
    const lines = [];
    for (const from of component)
      for (const [to, imports] of roomEdges.get(from) ?? [])
        if (inside.has(to))
          lines.push(
            `    ${from} → ${to}: ${imports.slice(0, 3).join(', ')}${imports.length > 3 ? ` (+${imports.length - 3})` : ''}`,
          );
    problems.push(
      `rooms ${component.join(', ')} import each other in a cycle; break it so one sits below the other:\n${lines.join('\n')}`,
    );
  }
  for (const component of cycles(files, (f) => [...(valueEdges.get(f) ?? [])]))
    problems.push(`files ${component.join(', ')} import each other's values in a cycle`);
  return { problems, rooms, order: problems.length === 0 ? topologicalOrder(rooms, edgesOf) : [] };
}

/** Lowest room first: each room after every room it imports. */
function topologicalOrder(rooms, edgesOf) {
  const placed = new Set();
  const order = [];
  const place = (room) => {
    if (placed.has(room)) return;
    placed.add(room);
    for (const below of edgesOf(room).sort()) place(below);
    order.push(room);
  };
  for (const room of rooms) place(room);
  return order;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const { problems, order } = checkLayers(args.root);
  if (problems.length > 0) {
    for (const problem of problems) console.error(`check-layers: ${problem}`);
    console.error(`check-layers: ${problems.length} broken rule(s); see services/api/README.md for the layers`);
    process.exit(1);
  }
  if (args.order) console.log(order.join('\n'));
  else console.log(`check-layers: ${order.length} rooms, no import runs back up`);
}
