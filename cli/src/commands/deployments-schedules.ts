import type { Schedule } from '@outpost/sdk/contracts';
import type { Command, CommandContext } from '../command.js';
import { EXIT } from '../errors.js';
import { json, shortTime, table } from '../output.js';
import { findDeployment } from '../resolve.js';

async function setPaused(ctx: CommandContext, paused: boolean): Promise<number> {
  const ref = ctx.positionals[0] as string;
  const api = ctx.api();
  const deployment = await findDeployment(api, ref);
  const verb = paused ? 'pause' : 'resume';
  const updated = await api.call(
    paused ? 'deploymentsPause' : 'deploymentsResume',
    { params: { id: deployment.id } },
    `cannot ${verb} deployment ${ref}`,
  );
  if (ctx.json) ctx.out(json(updated));
  else ctx.out(`deployment ${updated.flowName}/${updated.name} is ${updated.paused ? 'paused' : 'active'}`);
  return EXIT.ok;
}

export const deploymentsPause: Command = {
  name: 'deployments pause',
  args: '<flow/deployment>',
  summary: 'Pause a deployment: no run of it is claimed and its schedules create none',
  positionals: { min: 1, max: 1 },
  notes: ['Runs its schedules created that no worker claimed yet are removed; resuming fills them again from now.'],
  run: (ctx) => setPaused(ctx, true),
};

export const deploymentsResume: Command = {
  name: 'deployments resume',
  args: '<flow/deployment>',
  summary: 'Resume a paused deployment (scheduled times missed while paused are skipped)',
  positionals: { min: 1, max: 1 },
  run: (ctx) => setPaused(ctx, false),
};

function describeSchedule(s: Schedule): string {
  if (s.cron !== null) return `cron ${s.cron} (${s.timezone ?? 'UTC'})`;
  return `every ${s.intervalSeconds}s from ${shortTime(s.anchorDate)}`;
}

export const schedulesLs: Command = {
  name: 'schedules ls',
  args: '<flow/deployment>',
  summary: "List a deployment's schedules",
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const ref = ctx.positionals[0] as string;
    const api = ctx.api();
    const deployment = await findDeployment(api, ref);
    const { items } = await api.call('schedulesList', { params: { id: deployment.id } }, `cannot list the schedules of ${ref}`);
    if (ctx.json) {
      ctx.out(json(items));
      return EXIT.ok;
    }
    if (items.length === 0) {
      ctx.err(`deployment ${ref} has no schedules (declare them under schedules: in outpost.config.ts)`);
      return EXIT.ok;
    }
    const rows = items.map((s) => [
      s.slug,
      s.active && !deployment.paused ? 'active' : 'paused',
      s.catchup,
      shortTime(s.filledUntil),
      describeSchedule(s),
    ]);
    for (const line of table(['SLUG', 'STATUS', 'CATCH-UP', 'FILLED UNTIL (UTC)', 'SCHEDULE'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};

async function setScheduleActive(ctx: CommandContext, active: boolean): Promise<number> {
  const [ref, slug] = ctx.positionals as [string, string];
  const api = ctx.api();
  const deployment = await findDeployment(api, ref);
  const verb = active ? 'resume' : 'pause';
  const updated = await api.call(
    'schedulesUpdate',
    { params: { id: deployment.id, slug }, body: { active } },
    `cannot ${verb} schedule ${slug} of ${ref}`,
  );
  if (ctx.json) ctx.out(json(updated));
  else {
    ctx.out(`schedule ${updated.slug} of ${ref} is ${updated.active ? 'active' : 'paused'}`);
    if (updated.active && deployment.paused) ctx.err(`deployment ${ref} itself is paused: outpost deployments resume ${ref}`);
  }
  return EXIT.ok;
}

export const schedulesPause: Command = {
  name: 'schedules pause',
  args: '<flow/deployment> <slug>',
  summary: 'Pause one schedule of a deployment: it creates no runs until resumed',
  positionals: { min: 2, max: 2 },
  notes: ['The slugs are in `outpost schedules ls <flow/deployment>`. A redeploy keeps what you set here.'],
  run: (ctx) => setScheduleActive(ctx, false),
};

export const schedulesResume: Command = {
  name: 'schedules resume',
  args: '<flow/deployment> <slug>',
  summary: 'Resume a paused schedule of a deployment',
  positionals: { min: 2, max: 2 },
  run: (ctx) => setScheduleActive(ctx, true),
};
