import { Options } from './options.js';
/** Which of an organisation's workspaces a view is narrowed to; blank is every workspace. */
export function WorkspaceFilter({
  value,
  workspaces,
  onChange,
  label,
  testId,
}: {
  value: string;
  workspaces: string[];
  onChange: (slug: string) => void;
  /** The select's accessible name. */
  label: string;
  testId: string;
}) {
  return (
    <select value={value} onChange={(e) => onChange(e.target.value)} aria-label={label} data-testid={testId}>
      <option value="">every workspace</option>
      <Options values={workspaces} />
    </select>
  );
}
