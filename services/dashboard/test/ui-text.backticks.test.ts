import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

/** Markdown's inline code: the page shows the backticks as they are, so code goes in <code>. */
const INLINE_CODE = /`[^`\n]+`/;

async function tsxFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() ? tsxFiles(join(dir, e.name)) : Promise.resolve(e.name.endsWith('.tsx') ? [join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

/** Whether a string literal ends up as text of the page: inside a JSX child expression or a JSX attribute. */
function shownAsText(node: ts.Node): boolean {
  for (let at = node.parent; at; at = at.parent) {
    if (ts.isJsxExpression(at) || ts.isJsxAttribute(at)) return true;
    // A call's argument is data (a class name, a key), not text the page shows as written.
    if (ts.isCallExpression(at) || ts.isFunctionLike(at) || ts.isStatement(at)) return false;
  }
  return false;
}

/** Each piece of text a component shows that wraps something in backticks, as `line: text`. */
function backticked(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isJsxText(node) || (ts.isStringLiteral(node) && shownAsText(node))) && INLINE_CODE.test(node.text)) {
      found.push(`${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.text.trim()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

async function backtickedTexts(): Promise<string[]> {
  const found: string[] = [];
  for (const file of await tsxFiles(src)) {
    const source = ts.createSourceFile(file, await readFile(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
    found.push(...backticked(source).map((text) => `${relative(src, file)}:${text}`));
  }
  return found;
}

describe('text of the dashboard', () => {
  // Parsing every source file takes about a second alone, and several on a 2-core machine under load.
  it('shows code in a code element, never between markdown backticks a reader would see as they are', async () => {
    expect(await backtickedTexts()).toEqual([]);
  }, 60_000);

  it('finds backticks in JSX text and in a string shown as a child or an attribute', () => {
    const source = ts.createSourceFile(
      'probe.tsx',
      "const a = <p>Run `outpost deploy`.</p>;\nconst b = <p title={'see `x`'}>{ok ? 'fine' : 'use `y`'}</p>;\nconst c = cls('`z`');",
      ts.ScriptTarget.Latest,
      true,
      ts.ScriptKind.TSX,
    );
    expect(backticked(source)).toEqual(['1: Run `outpost deploy`.', '2: see `x`', '2: use `y`']);
  });
});
