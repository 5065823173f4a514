import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { OrganisationAuditSection } from '../src/pages/organisation-audit.js';
import { OrganisationUsageSection } from '../src/pages/organisation-usage.js';

const OPTIONS =
  '<option value="" selected="">every workspace</option><option value="default">default</option><option value="vision">vision</option>';

describe("the organisation's audit and usage", () => {
  it('narrow to one workspace with a select that offers every workspace first', () => {
    const audit = renderToStaticMarkup(<OrganisationAuditSection organisation="acme" workspaces={['default', 'vision']} />);
    expect(audit).toContain(
      `<select aria-label="Workspace to export" data-testid="organisation-audit-workspace">${OPTIONS}</select>`,
    );
    const usage = renderToStaticMarkup(<OrganisationUsageSection organisation="acme" workspaces={['default', 'vision']} />);
    expect(usage).toContain(`<select aria-label="Workspace" data-testid="organisation-usage-workspace">${OPTIONS}</select>`);
  });
});
