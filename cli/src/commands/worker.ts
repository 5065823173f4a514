import type { Command } from '../command.js';
import { exitCodeOf, exportSettings, importOptional, type PackageMain } from '../handover.js';

export const workerStart: Command = {
  name: 'worker start',
  args: '--pool <name>',
  summary: 'Run a worker that claims and executes runs of a work pool (--help lists its options)',
  usesApi: false,
  passthrough: true,
  async run(ctx) {
    const worker = await importOptional<{ main: PackageMain }>('@outpost/worker', '`outpost worker start`');
    const args = exportSettings(ctx.rawArgs, ctx.env, process.env);
    return exitCodeOf(await worker.main(['start', ...args]));
  },
};
