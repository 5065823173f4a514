import organisationsGuide from '../../../../docs/organisations.md?raw';
import { MarkdownText } from '../components/markdown-text.js';
import { markdownSection, SCIM_GUIDE_HEADING, SCIM_GUIDE_MATCH } from '../lib/group-roles.js';

/** The guide's section, taken from the docs when the dashboard is built, so the two never differ. */
const SECTION = markdownSection(organisationsGuide, SCIM_GUIDE_MATCH);

/**
 * How to connect an identity provider, as docs/organisations.md tells it. Loaded only when someone
 * opens it: the document and the Markdown renderer are larger than the rest of the page.
 */
export function ScimGuide() {
  if (!SECTION) return <p className="muted">See the section “{SCIM_GUIDE_HEADING}” of docs/organisations.md.</p>;
  return (
    <div data-testid="organisation-groups-guide-text">
      <MarkdownText markdown={SECTION} />
    </div>
  );
}
