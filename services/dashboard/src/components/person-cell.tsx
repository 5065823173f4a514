/** A table cell naming a person: their email address, with their name beneath it when they gave one. */
export function PersonCell({ email, name }: { email: string; name: string | null | undefined }) {
  return (
    <td>
      <div className="cell-main">
        <span className="strong">{email}</span>
        {name && <span className="muted small">{name}</span>}
      </div>
    </td>
  );
}
