import type { Command } from '../command.js';
import { EXIT } from '../errors.js';
import { json } from '../output.js';

export const whoami: Command = {
  name: 'whoami',
  summary: 'Show the workspace and role of the configured API key',
  async run(ctx) {
    const api = ctx.api();
    const me = await api.call('whoami', {}, 'cannot identify the API key');
    if (ctx.json) ctx.out(json({ apiUrl: api.url, ...me }));
    else {
      ctx.out(`api:        ${api.url}`);
      ctx.out(`workspace:  ${me.workspace.slug} (${me.workspace.id})`);
      ctx.out(`principal:  ${me.principal.kind} ${me.principal.id}${me.principal.role ? ` (${me.principal.role})` : ''}`);
    }
    return EXIT.ok;
  },
};
