import type { Command } from '../command.js';
import { EXIT } from '../errors.js';
import { json, table } from '../output.js';

const PER: Record<string, string> = { day: 'today (UTC)', hour: 'this hour', minute: 'last minute' };

export const quotas: Command = {
  name: 'quotas',
  summary: "Show the workspace's quotas: each limit and what counts against it now",
  async run(ctx) {
    const list = await ctx.api().call('quotasList', {}, 'cannot read the quotas');
    if (ctx.json) {
      ctx.out(json(list.items));
      return EXIT.ok;
    }
    const rows = list.items.map((q) => [
      q.name,
      q.limit === q.default ? String(q.limit) : `${q.limit} (default ${q.default})`,
      q.used === null ? '-' : String(q.used),
      q.per ? (PER[q.per] ?? q.per) : 'now',
      q.description,
    ]);
    for (const line of table(['QUOTA', 'LIMIT', 'USED', 'COUNTED', 'WHAT IS COUNTED'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};
