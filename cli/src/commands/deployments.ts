import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { printList, shortTime } from '../output.js';
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
    return printList(
      ctx,
      page.items,
      ['DEPLOYMENT', 'POOL/QUEUE', 'STATUS', 'UPDATED (UTC)', 'SOURCE'],
      (d) => [
        `${d.flowName}/${d.name}`,
        `${d.workPool}/${d.workQueue}`,
        d.paused ? 'paused' : 'active',
        shortTime(d.updatedAt),
        d.source,
      ],
      'no deployments (create them with `outpost deploy`)',
    );
  },
};
