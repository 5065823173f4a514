import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { EXIT } from '../errors.js';
import { json, shortTime, table } from '../output.js';
import { parseLimit } from '../resolve.js';

export const deploymentsLs: Command = {
  name: 'deployments ls',
  summary: 'List deployments',
  options: {
    flow: { type: 'string', placeholder: '<name>', description: 'only deployments of this flow' },
    limit: {
      type: 'string',
      placeholder: '<n>',
      description: `at most n deployments (1–${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE})`,
    },
  },
  async run(ctx) {
    const limit = parseLimit(stringOption(ctx.values, 'limit'), DEFAULT_PAGE_SIZE);
    const flow = stringOption(ctx.values, 'flow');
    const page = await ctx
      .api()
      .call('deploymentsList', { query: { limit, ...(flow ? { flow } : {}) } }, 'cannot list deployments');
    if (ctx.json) {
      ctx.out(json(page.items));
      return EXIT.ok;
    }
    if (page.items.length === 0) {
      ctx.err('no deployments (create them with `outpost deploy`)');
      return EXIT.ok;
    }
    const rows = page.items.map((d) => [
      `${d.flowName}/${d.name}`,
      `${d.workPool}/${d.workQueue}`,
      d.paused ? 'paused' : 'active',
      shortTime(d.updatedAt),
      d.source,
    ]);
    for (const line of table(['DEPLOYMENT', 'POOL/QUEUE', 'STATUS', 'UPDATED (UTC)', 'SOURCE'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};
