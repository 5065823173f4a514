import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const client = new URL('../python/outpost_pipes.py', import.meta.url);
const guide = new URL('../../docs/pipes.md', import.meta.url);

/** The public methods and properties of each named class of the Python module, by class. */
function publicMembers(source: string, classes: readonly string[]): Map<string, string[]> {
  const members = new Map<string, string[]>();
  let current: string | null = null;
  for (const line of source.split('\n')) {
    const opened = /^class (\w+)/.exec(line);
    if (opened) current = classes.includes(opened[1] as string) ? (opened[1] as string) : null;
    const method = /^ {4}def ([a-z]\w*)\(/.exec(line);
    if (current && method?.[1]) members.set(current, [...(members.get(current) ?? []), method[1]]);
  }
  return members;
}

describe("the Pipes guide's Python client reference", () => {
  it('names every public method and property of the client, its log and its context', async () => {
    const source = await readFile(client, 'utf8');
    const members = publicMembers(source, ['PipesClient', 'PipesLog', 'PipesContext']);
    expect(members.get('PipesClient')).toEqual(expect.arrayContaining(['report_metadata', 'close']));
    const reference = (await readFile(guide, 'utf8')).split('## The Python client')[1]?.split('\n## ')[0] ?? '';
    const missing = [...members].flatMap(([owner, names]) =>
      names.filter((name) => !new RegExp(`\\b${name}\\b`).test(reference)).map((name) => `${owner}.${name}`),
    );
    expect(missing).toEqual([]);
  });
});
