import type { Command } from '../command.js';
import { booleanOption } from '../command.js';
import { EXIT } from '../errors.js';
import { followLogs, formatLogLine, interruptSignal } from '../follow.js';
import { requireUuid } from '../resolve.js';

export const logs: Command = {
  name: 'logs',
  args: '<run-id>',
  summary: "Print a run's logs in order",
  positionals: { min: 1, max: 1 },
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep reading until the run has ended and every line is printed' },
  },
  notes: ['With --json, each line is printed as one JSON object (NDJSON).'],
  async run(ctx) {
    const id = requireUuid(ctx.positionals[0]!, 'the run');
    const follow = booleanOption(ctx.values, 'follow');
    const api = ctx.api();
    // Reading the run first turns a wrong id into "not found" rather than an empty log.
    await api.call('flowRunsGet', { params: { id } }, `cannot find run ${id}`);
    const result = await followLogs(api, id, {
      follow,
      print: (line) => ctx.out(ctx.json ? JSON.stringify(line) : formatLogLine(line)),
      ...(follow ? { signal: interruptSignal(ctx.interrupts) } : {}),
    });
    if (result.kind === 'interrupted') return 130;
    if (follow && result.run) ctx.err(`run ${result.run.name} ended ${result.run.state.type}`);
    return EXIT.ok;
  },
};
