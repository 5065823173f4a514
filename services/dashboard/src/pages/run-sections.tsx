/** A section of the run page the navigation can take the reader to: its element's id, its name, whether the run has it. */
export interface RunSection {
  id: string;
  label: string;
  present: boolean;
}

/**
 * Links to the run page's sections, at its top, for the sections this run has: the logs are below
 * the task runs and the artifacts, which may be thousands of pixels tall. The page's address is its
 * route (`#/runs/…`), so each is a button that scrolls to its section (opening the folded manifest)
 * rather than a link to an address.
 */
export function RunSections({ sections }: { sections: readonly RunSection[] }) {
  const shown = sections.filter((s) => s.present);
  if (shown.length === 0) return null;
  return (
    <nav className="run-sections" aria-label="Sections of the run" data-testid="run-sections">
      {shown.map((section) => (
        <button
          type="button"
          className="chip"
          key={section.id}
          data-testid="run-section-link"
          data-section={section.id}
          onClick={() => {
            const target = document.getElementById(section.id);
            if (!target) return;
            if (target instanceof HTMLDetailsElement) target.open = true;
            target.scrollIntoView({ block: 'start' });
            target.focus({ preventScroll: true });
          }}
        >
          {section.label}
        </button>
      ))}
    </nav>
  );
}
