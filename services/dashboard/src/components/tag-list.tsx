export function TagList({ tags, onPick }: { tags: readonly string[]; onPick?: (tag: string) => void }) {
  if (tags.length === 0) return <span className="muted">—</span>;
  return (
    <span className="tags">
      {tags.map((tag) =>
        onPick ? (
          <button type="button" key={tag} className="tag tag-button" onClick={() => onPick(tag)} title={`Filter by ${tag}`}>
            {tag}
          </button>
        ) : (
          <span key={tag} className="tag">
            {tag}
          </span>
        ),
      )}
    </span>
  );
}
