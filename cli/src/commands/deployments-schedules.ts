import type { CollisionStrategy, JsonObject, Schedule, ScheduleUpdateRequest } from '@outpost/sdk/contracts';
import type { Command, CommandContext } from '../command.js';
import { stringList, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, printList, shortTime } from '../output.js';
import { buildParameters } from '../params.js';
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
  return ctx.result(updated, `deployment ${updated.flowName}/${updated.name} is ${updated.paused ? 'paused' : 'active'}`);
}

export const deploymentsPause: Command = {
  name: 'deployments pause',
  args: '<flow/deployment>',
  summary: 'Pause a deployment: no run of it is claimed and its schedules create none',
  notes: ['Runs its schedules created that no worker claimed yet are removed; resuming fills them again from now.'],
  run: (ctx) => setPaused(ctx, true),
};

export const deploymentsResume: Command = {
  name: 'deployments resume',
  args: '<flow/deployment>',
  summary: 'Resume a paused deployment (scheduled times missed while paused are skipped)',
  run: (ctx) => setPaused(ctx, false),
};

function describeSchedule(s: Schedule): string {
  if (s.cron !== null) return `cron ${s.cron} (${s.timezone ?? 'UTC'})`;
  if (s.intervalSeconds === null) return 'at each partition window end';
  return `every ${s.intervalSeconds}s from ${shortTime(s.anchorDate)}`;
}

export const schedulesLs: Command = {
  name: 'schedules ls',
  args: '<flow/deployment>',
  summary: "List a deployment's schedules",
  async run(ctx) {
    const ref = ctx.positionals[0] as string;
    const api = ctx.api();
    const deployment = await findDeployment(api, ref);
    const { items } = await api.call('schedulesList', { params: { id: deployment.id } }, `cannot list the schedules of ${ref}`);
    return printList(
      ctx,
      items,
      ['SLUG', 'STATUS', 'CATCH-UP', 'FILLED UNTIL (UTC)', 'SCHEDULE'],
      (s) => [
        s.slug,
        s.active && !deployment.paused ? 'active' : 'paused',
        s.catchup,
        shortTime(s.filledUntil),
        describeSchedule(s),
      ],
      `deployment ${ref} has no schedules (declare them under schedules: in outpost.config.ts)`,
    );
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
  notes: ['The slugs are in `outpost schedules ls <flow/deployment>`. A redeploy keeps what you set here.'],
  run: (ctx) => setScheduleActive(ctx, false),
};

export const schedulesResume: Command = {
  name: 'schedules resume',
  args: '<flow/deployment> <slug>',
  summary: 'Resume a paused schedule of a deployment',
  run: (ctx) => setScheduleActive(ctx, true),
};

const INTERVAL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** `900`, `900s`, `15m`, `2h`, `1d` → seconds. */
export function parseInterval(raw: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  const seconds = match ? Number(match[1]) * (INTERVAL_UNITS[match[2] || 's'] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new UsageError(`--interval must be a whole number of seconds or a duration like 15m, 2h, 1d; got "${raw}"`);
  }
  return seconds;
}

export const schedulesUpdate: Command = {
  name: 'schedules update',
  args: '<flow/deployment> <slug>',
  summary: 'Change one schedule of a deployment: its cron or interval, time zone or parameters',
  options: {
    cron: { type: 'string', placeholder: '<expr>', description: 'a new cron expression (5 fields, or 6 with seconds first)' },
    timezone: { type: 'string', placeholder: '<zone>', description: 'the IANA zone its cron is read in, e.g. Europe/Berlin' },
    interval: { type: 'string', placeholder: '<duration>', description: 'run every duration instead (900, 15m, 2h, 1d)' },
    anchor: { type: 'string', placeholder: '<iso>', description: 'with --interval: a time the interval passes through' },
    parameters: {
      type: 'string',
      placeholder: '<json>',
      description: "the schedule's parameters as one JSON object (replaces them)",
    },
    param: {
      type: 'string',
      multiple: true,
      short: 'p',
      placeholder: '<key=value>',
      description: 'one parameter of the replacement (value read as JSON when valid; over --parameters)',
    },
  },
  notes: [
    'Example: outpost schedules update etl/daily nightly --cron "0 6 * * 1-5" --timezone Europe/Berlin',
    'Example: outpost schedules update etl/daily nightly --interval 15m --parameters \'{"full": false}\'',
    'A new cron or interval replans the schedule: its runs no worker claimed yet are replaced by the new times.',
    'The next `outpost deploy` sets schedules back to what outpost.config.ts declares.',
  ],
  async run(ctx) {
    const [ref, slug] = ctx.positionals as [string, string];
    const cron = stringOption(ctx.values, 'cron');
    const timezone = stringOption(ctx.values, 'timezone');
    const interval = stringOption(ctx.values, 'interval');
    const anchor = stringOption(ctx.values, 'anchor');
    const paramsJson = stringOption(ctx.values, 'parameters');
    const assignments = stringList(ctx.values, 'param');
    if (cron !== undefined && interval !== undefined) throw new UsageError('give --cron or --interval, not both');
    if (anchor !== undefined && interval === undefined) throw new UsageError('--anchor goes with --interval');
    if (anchor !== undefined && Number.isNaN(Date.parse(anchor)))
      throw new UsageError(`--anchor must be an ISO time, got "${anchor}"`);
    const body: ScheduleUpdateRequest = {};
    if (cron !== undefined) body.cron = cron;
    if (timezone !== undefined) body.timezone = timezone;
    if (interval !== undefined) body.intervalSeconds = parseInterval(interval);
    if (anchor !== undefined) body.anchorDate = new Date(anchor).toISOString();
    if (paramsJson !== undefined || assignments.length > 0) {
      body.parameters = buildParameters(paramsJson, assignments) as JsonObject;
    }
    if (Object.keys(body).length === 0) {
      throw new UsageError('nothing to change: give --cron, --timezone, --interval or --parameters');
    }
    const api = ctx.api();
    const deployment = await findDeployment(api, ref);
    const updated = await api.call(
      'schedulesUpdate',
      { params: { id: deployment.id, slug }, body },
      `cannot update schedule ${slug} of ${ref}`,
    );
    return ctx.result(updated, `schedule ${updated.slug} of ${ref}: ${describeSchedule(updated)}`);
  },
};

const COLLISIONS: Record<string, CollisionStrategy> = { enqueue: 'ENQUEUE', 'cancel-new': 'CANCEL_NEW' };

export const deploymentsSetConcurrency: Command = {
  name: 'deployments set-concurrency',
  args: '<flow/deployment> <n|none>',
  summary: 'Set how many runs of a deployment may be in flight at once (none removes the limit)',
  options: {
    collision: {
      type: 'string',
      placeholder: '<enqueue|cancel-new>',
      description: 'at the limit, a due run waits (enqueue) or is cancelled (cancel-new)',
    },
  },
  notes: ['The next `outpost deploy` sets the limit back to what outpost.config.ts declares (none when it declares none).'],
  async run(ctx) {
    const [ref, raw] = ctx.positionals as [string, string];
    let concurrencyLimit: number | null;
    if (raw === 'none') concurrencyLimit = null;
    else if (/^\d+$/.test(raw) && Number(raw) <= 100_000) concurrencyLimit = Number(raw);
    else throw new UsageError(`the limit must be a whole number from 0 to 100000, or none; got "${raw}"`);
    const collisionRaw = stringOption(ctx.values, 'collision');
    const collisionStrategy = collisionRaw === undefined ? undefined : COLLISIONS[collisionRaw.toLowerCase()];
    if (collisionRaw !== undefined && !collisionStrategy) {
      throw new UsageError(`--collision must be enqueue or cancel-new, got "${collisionRaw}"`);
    }
    const api = ctx.api();
    const deployment = await findDeployment(api, ref);
    const updated = await api.call(
      'deploymentsUpdate',
      { params: { id: deployment.id }, body: { concurrencyLimit, ...(collisionStrategy ? { collisionStrategy } : {}) } },
      `cannot set the concurrency of ${ref}`,
    );
    if (ctx.json) ctx.out(json(updated));
    else {
      const limit = updated.concurrencyLimit ?? null;
      const strategy = updated.collisionStrategy === 'CANCEL_NEW' ? 'a due run over it is cancelled' : 'a due run over it waits';
      ctx.out(
        limit === null
          ? `deployment ${updated.flowName}/${updated.name} has no concurrency limit`
          : `deployment ${updated.flowName}/${updated.name} runs at most ${limit} at once; ${strategy}`,
      );
    }
    return EXIT.ok;
  },
};
