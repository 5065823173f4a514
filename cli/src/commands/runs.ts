import { randomUUID } from 'node:crypto';
import type { FlowRun, FlowRunAttempt } from '@outpost/sdk/contracts';
import { attemptLabel, MAX_PAGE_SIZE, StateType, shortCodeDigest } from '@outpost/sdk/contracts';
import type { Api } from '../api.js';
import type { Command } from '../command.js';
import { stringList, stringOption } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { json, printList, shortTime } from '../output.js';
import { DEFAULT_LIST_LIMIT, findDeployment, findRun, parseLimit } from '../resolve.js';
import { stateColor } from '../style.js';
import { attemptsTable } from './runs-attempts.js';

export const runsLs: Command = {
  name: 'runs ls',
  summary: 'List flow runs, newest first',
  options: {
    state: {
      type: 'string',
      multiple: true,
      placeholder: '<STATE[,STATE]>',
      description: 'only runs in these states, e.g. RUNNING,FAILED',
    },
    deployment: { type: 'string', placeholder: '<flow/name|id>', description: 'only runs of this deployment' },
    flow: { type: 'string', placeholder: '<name>', description: 'only runs of this flow' },
    tag: { type: 'string', placeholder: '<tag>', description: 'only runs with this tag' },
    limit: {
      type: 'string',
      placeholder: '<n>',
      description: `at most n runs (1–${MAX_PAGE_SIZE}, default ${DEFAULT_LIST_LIMIT})`,
    },
  },
  async run(ctx) {
    const states = parseStates(stringList(ctx.values, 'state'));
    const limit = parseLimit(stringOption(ctx.values, 'limit'), DEFAULT_LIST_LIMIT);
    const api = ctx.api();
    const deploymentRef = stringOption(ctx.values, 'deployment');
    const deploymentId = deploymentRef ? (await findDeployment(api, deploymentRef)).id : undefined;
    const flow = stringOption(ctx.values, 'flow');
    const tag = stringOption(ctx.values, 'tag');
    const page = await api.call(
      'flowRunsList',
      {
        query: {
          limit,
          ...(states.length ? { state: states.join(',') } : {}),
          ...(deploymentId ? { deploymentId } : {}),
          ...(flow ? { flow } : {}),
          ...(tag ? { tag } : {}),
        },
      },
      'cannot list runs',
    );
    return printList(
      ctx,
      page.items,
      ['ID', 'NAME', 'DEPLOYMENT', 'STATE', 'ATTEMPT', 'CREATED (UTC)'],
      (r) => [
        r.id,
        r.name,
        deploymentLabel(r),
        stateColor(ctx.color.out, r.state.type, stateLabel(r)),
        String(r.attempt),
        shortTime(r.createdAt),
      ],
      'no runs',
    );
  },
};

export const runsGet: Command = {
  name: 'runs get',
  args: '<run>',
  summary: 'Show one flow run, by name or id',
  async run(ctx) {
    const api = ctx.api();
    const run = await findRun(api, ctx.positionals[0]!);
    const { items: attempts } = await api.call(
      'flowRunsAttempts',
      { params: { id: run.id } },
      `cannot list the attempts of run ${run.id}`,
    );
    const defaults = await schemaDefaults(api, run);
    if (ctx.json) ctx.out(json({ ...run, attempts, defaultedParameters: defaults }));
    else {
      for (const line of describeRun(run, attempts, defaults)) ctx.out(line);
      if (attempts.length > 0) {
        ctx.out('');
        for (const line of attemptsTable(attempts)) ctx.out(line);
      }
    }
    return EXIT.ok;
  },
};

/** `runs cancel` and `runs retry`: one user action on a run, through its dedicated route. */
function runAction(action: 'cancel' | 'retry', summary: string): Command {
  return {
    name: `runs ${action}`,
    args: '<run>',
    summary,
    async run(ctx) {
      const api = ctx.api();
      const { id } = await findRun(api, ctx.positionals[0]!);
      const answer = await api.call(
        action === 'cancel' ? 'flowRunsCancel' : 'flowRunsRetry',
        { params: { id }, body: { transitionId: randomUUID(), message: `${action} from the CLI` } },
        `cannot ${action} run ${id}`,
      );
      if (ctx.json) ctx.out(json(answer));
      if (answer.status !== 'ACCEPT') {
        throw new CliError(`run ${id} was not ${action === 'cancel' ? 'cancelled' : 'retried'}: ${answer.status}`, EXIT.failed, [
          `its state is ${answer.state.type} (${answer.state.name})${answer.reason ? `: ${answer.reason}` : ''}`,
        ]);
      }
      if (!ctx.json) {
        ctx.out(`run ${id} is ${answer.state.type} (${answer.state.name}), attempt ${answer.attempt}`);
        if (action === 'retry') ctx.err(`dashboard: ${ctx.color.err.cyan(api.runUrl(id))}`);
      }
      return EXIT.ok;
    },
  };
}

export const runsCancel = runAction('cancel', 'Cancel a flow run (its worker stops it and it becomes CANCELLED)');
export const runsRetry = runAction('retry', 'Retry a finished flow run as a new attempt, due now');

export function parseStates(raw: string[]): string[] {
  const states = raw
    .flatMap((s) => s.split(','))
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  for (const s of states) {
    if (!StateType.safeParse(s).success)
      throw new UsageError(`unknown state "${s}"`, [`states: ${StateType.options.join(', ')}`]);
  }
  return states;
}

export function deploymentLabel(run: FlowRun): string {
  return run.deploymentName ? `${run.flowName}/${run.deploymentName}` : run.flowName;
}

export function stateLabel(run: FlowRun): string {
  return run.state.name.toUpperCase() === run.state.type ? run.state.type : `${run.state.type} (${run.state.name})`;
}

/**
 * The values the deployment's parameter schema gives parameters the run was not given: what the
 * flow's parameters resolve to when it starts (its zod defaults). Empty for a run without a
 * deployment, or when the deployment cannot be read any more.
 */
async function schemaDefaults(api: Api, run: FlowRun): Promise<Record<string, unknown>> {
  if (!run.deploymentId) return {};
  const found = await api.attempt('deploymentsGet', { params: { id: run.deploymentId } });
  const properties = found.ok ? found.data.parameterSchema?.properties : undefined;
  if (!properties || typeof properties !== 'object' || Array.isArray(properties)) return {};
  const defaults: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    if (name in run.parameters || property === null || typeof property !== 'object' || Array.isArray(property)) continue;
    if ('default' in property) defaults[name] = property.default;
  }
  return defaults;
}

/** `n=5, mode="fast" (default)`: the given parameters, then the defaulted ones, marked. */
export function parametersLabel(given: Record<string, unknown>, defaults: Record<string, unknown> = {}): string {
  const parts = [
    ...Object.entries(given).map(([k, v]) => `${k}=${JSON.stringify(v)}`),
    ...Object.entries(defaults).map(([k, v]) => `${k}=${JSON.stringify(v)} (default)`),
  ];
  return parts.join(', ') || '-';
}

export function describeRun(
  run: FlowRun,
  attempts: readonly FlowRunAttempt[] = [],
  defaults: Record<string, unknown> = {},
): string[] {
  // The run's lease holder while it runs; else the worker of its latest attempt, by name.
  const latest = attempts.at(-1);
  const worker = latest ? (latest.workerName ?? latest.workerId) : (run.workerId ?? '-');
  const rows: [string, string][] = [
    ['id', run.id],
    ['name', run.name],
    ['deployment', deploymentLabel(run)],
    ['state', stateLabel(run)],
    ['message', run.state.message ?? '-'],
    ['attempt', attemptLabel(run)],
    ['parameters', parametersLabel(run.parameters, defaults)],
    ['tags', run.tags.join(', ') || '-'],
    ['pool', run.workPool ? `${run.workPool}/${run.workQueue ?? 'default'}` : '-'],
    ['worker', worker],
    ['created', shortTime(run.createdAt)],
    ['scheduled', shortTime(run.scheduledTime ?? run.expectedStartTime)],
    ['expected start', shortTime(run.expectedStartTime)],
    ['started', shortTime(run.startTime)],
    ['ended', shortTime(run.endTime)],
    ['code', run.sourceDigest ? shortCodeDigest(run.sourceDigest) : '-'],
  ];
  if (run.idempotencyKey) rows.push(['idempotency key', run.idempotencyKey]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${v}`);
}
