import { describe, expect, it } from 'vitest';
import { everyItem, type Page } from '../src/pages.js';

/** A list of `total` numbers served `size` at a time, recording the cursor and count each call was given. */
function pagedList(total: number, size: number) {
  const calls: { cursor: string | undefined; have: number }[] = [];
  const page = async (cursor: string | undefined, have: number): Promise<Page<number>> => {
    calls.push({ cursor, have });
    const from = cursor ? Number(cursor) : 0;
    const items = Array.from({ length: Math.min(size, total - from) }, (_, i) => from + i);
    const next = from + items.length;
    return { items, nextCursor: next < total ? String(next) : null };
  };
  return { page, calls };
}

describe('every item of a cursor-paged list', () => {
  it('follows each next cursor in turn and stops at the page that gives none', async () => {
    const list = pagedList(7, 3);
    expect(await everyItem(list.page)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(list.calls).toEqual([
      { cursor: undefined, have: 0 },
      { cursor: '3', have: 3 },
      { cursor: '6', have: 6 },
    ]);
  });

  it('asks once for a list that fits on one page, and takes an absent cursor as the end', async () => {
    let calls = 0;
    const items = await everyItem(async () => {
      calls += 1;
      return { items: ['only'] };
    });
    expect(items).toEqual(['only']);
    expect(calls).toBe(1);
  });

  it('stops asking once it holds the limit, keeping the last page whole', async () => {
    const list = pagedList(100, 4);
    expect(await everyItem(list.page, 6)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(list.calls.map((c) => c.have)).toEqual([0, 4]);
  });
});
