import type { Command } from '../command.js';
import { CONTROL_PLANE, exitCodeOf, exportSettings, importOptional, type PackageMain } from '../handover.js';

export const serverStart: Command = {
  name: 'server start',
  summary: 'Run the control plane: API, background loops and dashboard (--help lists its options)',
  usesApi: false,
  passthrough: true,
  async run(ctx) {
    const api = await importOptional<{ main: PackageMain }>(CONTROL_PLANE, '`outpost server start`');
    const args = exportSettings(ctx.rawArgs, ctx.env, process.env);
    return exitCodeOf(await api.main(['server', 'start', ...args]));
  },
};

export const serverRotateKey: Command = {
  name: 'server signing-keys rotate',
  summary: 'Add a run-token signing key that every API replica publishes now and signs with later',
  usesApi: false,
  passthrough: true,
  async run(ctx) {
    const api = await importOptional<{ main: PackageMain }>(CONTROL_PLANE, '`outpost server signing-keys rotate`');
    const args = exportSettings(ctx.rawArgs, ctx.env, process.env);
    return exitCodeOf(await api.main(['signing-keys', 'rotate', ...args]));
  },
};

export const serverQuota: Command = {
  name: 'server quota',
  summary:
    "Set or show one workspace's quotas, as the operator (needs DATABASE_URL): set <slug> <quota> <limit|default>, ls <slug>",
  usesApi: false,
  passthrough: true,
  async run(ctx) {
    const api = await importOptional<{ main: PackageMain }>(CONTROL_PLANE, '`outpost server quota`');
    const args = exportSettings(ctx.rawArgs, ctx.env, process.env);
    return exitCodeOf(await api.main(['server', 'quota', ...args]));
  },
};

export const serverUsersVerifyEmail: Command = {
  name: 'server users verify-email',
  summary:
    "Confirm an account's address, as the operator (needs DATABASE_URL): <address>; organisation powers need a confirmed one",
  usesApi: false,
  passthrough: true,
  async run(ctx) {
    const api = await importOptional<{ main: PackageMain }>(CONTROL_PLANE, '`outpost server users verify-email`');
    const args = exportSettings(ctx.rawArgs, ctx.env, process.env);
    return exitCodeOf(await api.main(['server', 'users', 'verify-email', ...args]));
  },
};

export const serverOrganisationsSetOwner: Command = {
  name: 'server organisations set-owner',
  summary:
    'Make an account an owner of an organisation, as the operator (needs DATABASE_URL): <org-slug> <address> [--confirm-email]',
  usesApi: false,
  passthrough: true,
  async run(ctx) {
    const api = await importOptional<{ main: PackageMain }>(CONTROL_PLANE, '`outpost server organisations set-owner`');
    const args = exportSettings(ctx.rawArgs, ctx.env, process.env);
    return exitCodeOf(await api.main(['server', 'organisations', 'set-owner', ...args]));
  },
};
