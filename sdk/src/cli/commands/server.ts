import type { Command } from '../command.js';
import { exitCodeOf, exportSettings, importOptional, type PackageMain } from '../handover.js';

export const serverStart: Command = {
  name: 'server start',
  summary: 'Run the control plane (API, background loops); options are those of @outpost/api',
  usesApi: false,
  passthrough: true,
  async run(ctx) {
    const api = await importOptional<{ main: PackageMain }>('@outpost/api', '`outpost server start`');
    const args = exportSettings(ctx.rawArgs, ctx.env, process.env);
    return exitCodeOf(await api.main(['server', 'start', ...args]));
  },
};
