import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, shortTime, table } from '../output.js';

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
    if (ctx.json) {
      ctx.out(json(items));
      return EXIT.ok;
    }
    if (items.length === 0) {
      ctx.err(`no workers have polled pool ${pool} (start one with \`outpost worker start --pool ${pool}\`)`);
      return EXIT.ok;
    }
    const rows = items.map((w) => [
      w.id,
      w.name,
      w.status,
      String(w.capacity),
      Object.entries(w.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
      shortTime(w.lastHeartbeatAt),
    ]);
    for (const line of table(['ID', 'NAME', 'STATUS', 'CAPACITY', 'LABELS', 'LAST HEARTBEAT (UTC)'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};
