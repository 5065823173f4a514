/** "`label`" for a list read a page at a time, while it has another page; "Loading…" while that is read. */
export function LoadMore({
  list,
  onMore,
  label,
  testId,
}: {
  list: { nextCursor: string | null; loading: boolean };
  onMore: () => void;
  label: string;
  testId: string;
}) {
  if (!list.nextCursor) return null;
  return (
    <button type="button" className="button" disabled={list.loading} onClick={onMore} data-testid={testId}>
      {list.loading ? 'Loading…' : label}
    </button>
  );
}
