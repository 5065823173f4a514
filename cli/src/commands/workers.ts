import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { UsageError } from '../errors.js';
import { printList, shortTime } from '../output.js';

export const workersLs: Command = {
  name: 'workers ls',
  summary: "List a work pool's workers and whether they are online",
  options: {
    pool: { type: 'string', placeholder: '<name>', description: 'the work pool (required)' },
  },
  async run(ctx) {
    const pool = stringOption(ctx.values, 'pool');
    if (!pool) throw new UsageError('--pool is required, e.g. `outpost workers ls --pool default`');
    const { items } = await ctx.api().call('workersList', { params: { pool } }, `cannot list the workers of pool ${pool}`);
    return printList(
      ctx,
      items,
      ['ID', 'NAME', 'STATUS', 'CAPACITY', 'LABELS', 'LAST HEARTBEAT (UTC)'],
      (w) => [
        w.id,
        w.name,
        w.status,
        String(w.capacity),
        Object.entries(w.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '-',
        shortTime(w.lastHeartbeatAt),
      ],
      `no workers have polled pool ${pool} (start one with \`outpost worker start --pool ${pool}\`)`,
    );
  },
};
