import { MAX_PAGE_SIZE, type Sensor, type SensorTick, SensorTickStatus } from '@outpost/sdk/contracts';
import type { Api } from '../api.js';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { json, printList, shortTime, table } from '../output.js';
import { everyItem } from '../pages.js';
import { DEFAULT_LIST_LIMIT, findDeployment, isUuid, parseLimit } from '../resolve.js';

/*
 * `outpost sensors …`: the sensors deployments define (`sensor()` in their code), what their ticks
 * did, and pausing, resuming or ticking one now. A sensor is named by its id, by
 * `<flow>/<deployment>/<sensor>`, or by its name alone when only one sensor carries it.
 */

function allSensors(api: Api, deployment?: string): Promise<Sensor[]> {
  return everyItem((cursor) =>
    api.call(
      'sensorsList',
      { query: { limit: MAX_PAGE_SIZE, ...(deployment ? { deployment } : {}), ...(cursor ? { cursor } : {}) } },
      'cannot list sensors',
    ),
  );
}

const fullName = (s: Sensor) => `${s.flowName}/${s.deploymentName}/${s.name}`;

async function findSensor(api: Api, ref: string): Promise<Sensor> {
  if (isUuid(ref)) return api.call('sensorsGet', { params: { id: ref } }, `cannot find sensor ${ref}`);
  const parts = ref.split('/');
  if (parts.length !== 1 && parts.length !== 3) {
    throw new UsageError(`a sensor is named by its id, <flow>/<deployment>/<sensor> or its name (got "${ref}")`);
  }
  const matches = (await allSensors(api)).filter((s) => (parts.length === 3 ? fullName(s) === ref : s.name === ref));
  const [only, ...others] = matches;
  if (!only) throw new CliError(`no sensor is named "${ref}" (see outpost sensors ls)`, EXIT.failed);
  if (others.length > 0) {
    throw new CliError(
      `${matches.length} sensors are named "${ref}": give <flow>/<deployment>/<sensor> or the id`,
      EXIT.failed,
      matches.map((s) => `${s.id}  ${fullName(s)}`),
    );
  }
  return only;
}

function lastTickText(s: Sensor): string {
  const t = s.lastTick;
  if (!t) return 'never';
  const detail = t.status === 'REQUESTED' ? `${t.runCount} run${t.runCount === 1 ? '' : 's'}` : (t.error ?? t.skipReason ?? '');
  return `${t.status} ${shortTime(t.at)}${detail ? ` (${detail.length > 60 ? `${detail.slice(0, 57)}…` : detail})` : ''}`;
}

export const sensorsLs: Command = {
  name: 'sensors ls',
  summary: 'List the sensors deployments define, with their last tick',
  options: {
    deployment: { type: 'string', placeholder: '<flow/deployment>', description: "only this deployment's sensors" },
  },
  async run(ctx) {
    const api = ctx.api();
    const ref = stringOption(ctx.values, 'deployment');
    const deployment = ref ? (await findDeployment(api, ref)).id : undefined;
    const items = await allSensors(api, deployment);
    return printList(
      ctx,
      items,
      ['ID', 'SENSOR', 'INTERVAL', 'STATUS', 'NEXT TICK (UTC)', 'LAST TICK'],
      (s) => [
        s.id,
        fullName(s),
        `${s.intervalSeconds}s`,
        s.paused ? 'paused' : 'active',
        s.paused ? '-' : shortTime(s.nextTickAt),
        lastTickText(s),
      ],
      'no sensors (a deployment registers the sensors its entrypoint defines with sensor(), on `outpost deploy`)',
    );
  },
};

export const sensorsGet: Command = {
  name: 'sensors get',
  args: '<sensor>',
  summary: 'Show a sensor: interval, cursor, next and last tick',
  async run(ctx) {
    const s = await findSensor(ctx.api(), ctx.positionals[0]!);
    if (ctx.json) {
      ctx.out(json(s));
      return EXIT.ok;
    }
    ctx.out(`${fullName(s)}  (${s.id})`);
    if (s.description) ctx.out(`  ${s.description}`);
    ctx.out(`  pool:       ${s.workPool}`);
    ctx.out(`  interval:   ${s.intervalSeconds}s`);
    ctx.out(`  status:     ${s.paused ? 'paused' : 'active'}`);
    ctx.out(
      `  next tick:  ${s.paused ? '-' : shortTime(s.nextTickAt)}${s.leaseExpiresAt ? ' (a worker is evaluating it now)' : ''}`,
    );
    ctx.out(`  last tick:  ${lastTickText(s)}`);
    ctx.out(`  cursor:     ${s.cursor === null ? '(none)' : s.cursor}`);
    return EXIT.ok;
  },
};

function tickDetail(t: SensorTick): string {
  if (t.status === 'FAILED') return t.error ?? '';
  if (t.status === 'SKIPPED') return t.skipReason ?? '';
  if (t.status === 'RUNNING') return 'being evaluated';
  const created = t.runs.filter((r) => r.created).length;
  return `${t.runs.length} requested (${created} new): ${t.runs.map((r) => r.runKey).join(', ')}`;
}

export const sensorsTicks: Command = {
  name: 'sensors ticks',
  args: '<sensor>',
  summary: "A sensor's ticks, newest first: runs requested, skip reasons, errors",
  options: {
    status: { type: 'string', placeholder: '<status>', description: 'only REQUESTED, SKIPPED, FAILED or RUNNING ticks' },
    limit: { type: 'string', placeholder: '<n>', description: `how many (default ${DEFAULT_LIST_LIMIT})` },
  },
  async run(ctx) {
    const api = ctx.api();
    const s = await findSensor(api, ctx.positionals[0]!);
    const rawStatus = stringOption(ctx.values, 'status');
    const status = rawStatus === undefined ? undefined : SensorTickStatus.safeParse(rawStatus.toUpperCase());
    if (status && !status.success)
      throw new UsageError(`--status must be one of ${SensorTickStatus.options.join(', ')}, got "${rawStatus}"`);
    const limit = parseLimit(stringOption(ctx.values, 'limit'), DEFAULT_LIST_LIMIT);
    const page = await api.call(
      'sensorsTicks',
      { params: { id: s.id }, query: { limit, ...(status ? { status: status.data } : {}) } },
      `cannot list the ticks of ${fullName(s)}`,
    );
    if (ctx.json) {
      ctx.out(json(page.items));
      return EXIT.ok;
    }
    if (page.items.length === 0) {
      ctx.err(`${fullName(s)} has no ticks yet (a worker of pool ${s.workPool} evaluates it when due)`);
      return EXIT.ok;
    }
    const rows = page.items.map((t) => [shortTime(t.startedAt), t.status, t.cursorAfter ?? '-', tickDetail(t)]);
    for (const line of table(['STARTED (UTC)', 'STATUS', 'CURSOR AFTER', 'DETAIL'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};

function action(
  name: 'pause' | 'resume' | 'tick',
  route: 'sensorsPause' | 'sensorsResume' | 'sensorsTickNow',
  summary: string,
  said: (s: Sensor) => string,
): Command {
  return {
    name: `sensors ${name}`,
    args: '<sensor>',
    summary,
    async run(ctx) {
      const api = ctx.api();
      const found = await findSensor(api, ctx.positionals[0]!);
      const s = await api.call(route, { params: { id: found.id } }, `cannot ${name} ${fullName(found)}`);
      if (ctx.json) ctx.out(json(s));
      else ctx.err(said(s));
      return EXIT.ok;
    },
  };
}

export const sensorsPause = action(
  'pause',
  'sensorsPause',
  'Pause a sensor: no worker evaluates it until resumed',
  (s) => `paused ${fullName(s)}`,
);
export const sensorsResume = action(
  'resume',
  'sensorsResume',
  'Resume a paused sensor; its next tick is due at once',
  (s) => `resumed ${fullName(s)}; its next tick is due now`,
);
export const sensorsTick = action(
  'tick',
  'sensorsTickNow',
  "Make a sensor's next tick due now",
  (s) => `${fullName(s)} is due now${s.paused ? ' (but paused: resume it to have it evaluated)' : ''}`,
);
