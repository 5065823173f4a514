import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markdownFiles, REPO } from './docs.support.js';

const SKIP_DIRS = new Set(['node_modules', 'dist']);

/** The markdown without its fenced blocks and inline code spans, where a `[x](y)` is no link. */
function prose(markdown: string): string {
  return markdown.replace(/^\s*(```|~~~)[\s\S]*?^\s*\1/gm, '').replace(/`[^`\n]*`/g, '');
}

/** The targets of a markdown file's inline links that lead within the repository (no scheme such as `https:`). */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/**
 * The anchors a markdown file's headings get, as GitHub makes them: the heading's text in lower
 * case, punctuation dropped, spaces made hyphens, and `-1`, `-2` … after a repeated one.
 */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const heading of markdown.replace(/^\s*(```|~~~)[\s\S]*?^\s*\1/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (heading[1] as string).replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return found;
}

describe('the links between the docs', () => {
  it('are read from prose only, never from code, and leave out addresses elsewhere', () => {
    const markdown = [
      'See [the guide](docs/sdk.md#testing-flows) and [Install](#install), or [the site](https://example.com).',
      '`[not a link](nowhere.md)`',
      '```md',
      '[nor this](nowhere.md)',
      '```',
    ].join('\n');
    expect(relativeLinks(markdown)).toEqual(['docs/sdk.md#testing-flows', '#install']);
  });

  it('name a heading by the anchor GitHub gives it', () => {
    const markdown =
      '# Outpost\n## A ten-minute tour\n## The project: `outpost.config.ts`\n## Notes\n## Notes\n```\n# not a heading\n```';
    expect([...anchors(markdown)]).toEqual(['outpost', 'a-ten-minute-tour', 'the-project-outpostconfigts', 'notes', 'notes-1']);
  });

  it('point, from every markdown file, at a file that exists and at a heading it has', async () => {
    const files = await markdownFiles(REPO, SKIP_DIRS);
    expect(files.map((file) => relative(REPO, file))).toEqual(expect.arrayContaining(['README.md', 'docs/sdk.md']));
    const problems: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const target of relativeLinks(await readFile(file, 'utf8'))) {
        checked += 1;
        const [path = '', fragment] = target.split('#');
        const destination = path === '' ? file : resolve(dirname(file), decodeURI(path));
        if (!existsSync(destination)) {
          problems.push(`${relative(REPO, file)}: ${target}: no file ${relative(REPO, destination)}`);
        } else if (fragment && destination.endsWith('.md') && !anchors(await readFile(destination, 'utf8')).has(fragment)) {
          problems.push(`${relative(REPO, file)}: ${target}: ${relative(REPO, destination)} has no heading #${fragment}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(problems).toEqual([]);
  });
});
