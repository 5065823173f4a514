/** One page of a cursor-paged list, as every list route of the API answers it. */
export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

/**
 * Every item of a cursor-paged list, page after page: `page` is called with the cursor the last page
 * gave (undefined for the first) and the number of items in hand, until a page gives no cursor or
 * `limit` items are in hand. The last page is kept whole; a caller that wants exactly `limit` asks
 * that page for no more than it lacks.
 */
export async function everyItem<T>(
  page: (cursor: string | undefined, have: number) => Promise<Page<T>>,
  limit = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor, items.length);
    items.push(...next.items);
    cursor = next.nextCursor ?? undefined;
  } while (cursor && items.length < limit);
  return items;
}
