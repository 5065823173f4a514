import type { FlowRun, JsonObject, LogLine, ResourceRequest } from '@outpost/sdk/contracts';
import { isTerminal } from '@outpost/sdk/contracts';
import type { Command, CommandContext } from '../command.js';
import { booleanOption, stringList, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { followLogs, formatLogLine, interruptSignal } from '../follow.js';
import { json, shortTime } from '../output.js';
import { buildParameters } from '../params.js';
import { findDeployment } from '../resolve.js';
import type { Spinner } from '../spinner.js';
import { stateColor } from '../style.js';
import { parseStartAt } from '../times.js';
import { deploymentLabel, stateLabel } from './runs.js';

export const run: Command = {
  name: 'run',
  args: '<flow>/<deployment>',
  summary: 'Start a run of a deployment; with --watch, follow it to the end',
  positionals: { min: 1, max: 1 },
  options: {
    param: {
      type: 'string',
      multiple: true,
      short: 'p',
      placeholder: '<key=value>',
      description: 'a parameter; the value is read as JSON when it is valid JSON (n=3 is a number), else as a string',
    },
    'params-json': { type: 'string', placeholder: '<json>', description: 'all parameters as one JSON object (--param wins)' },
    tag: { type: 'string', multiple: true, placeholder: '<tag>', description: 'a tag for the run' },
    name: { type: 'string', placeholder: '<name>', description: "the run's name (generated when absent)" },
    queue: { type: 'string', placeholder: '<queue>', description: "a work queue of the deployment's pool" },
    'start-at': {
      type: 'string',
      placeholder: '<when>',
      description: 'start no earlier than this: an ISO timestamp, or words like "tomorrow 06:00" (TZ applies)',
    },
    'idempotency-key': {
      type: 'string',
      placeholder: '<key>',
      description: 'a repeated request with the same key returns the first run',
    },
    gpus: { type: 'string', placeholder: '<n>', description: "GPUs the run needs (over the deployment's request)" },
    'gpu-memory-gb': { type: 'string', placeholder: '<n>', description: 'memory each of those GPUs must have, in GB' },
    'memory-gb': { type: 'string', placeholder: '<n>', description: 'host memory the run needs, in GB' },
    cpus: { type: 'string', placeholder: '<n>', description: 'CPU slots the run needs' },
    watch: { type: 'boolean', short: 'w', description: 'print the logs until the run ends; exit 0 only if it COMPLETED' },
  },
  notes: ['Example: outpost run hello/default --param n=5 --watch'],
  async run(ctx) {
    // Values come from JSON.parse or are strings, so the object is JSON.
    const parameters = buildParameters(stringOption(ctx.values, 'params-json'), stringList(ctx.values, 'param')) as JsonObject;
    const tags = stringList(ctx.values, 'tag');
    const name = stringOption(ctx.values, 'name');
    const queue = stringOption(ctx.values, 'queue');
    const idempotencyKey = stringOption(ctx.values, 'idempotency-key');
    const rawStartAt = stringOption(ctx.values, 'start-at');
    const startAt = rawStartAt === undefined ? undefined : parseStartAt(rawStartAt);
    const resources = resourceOptions(ctx.values);
    const ref = ctx.positionals[0]!;
    const api = ctx.api();
    const deployment = await findDeployment(api, ref);
    const { flowRun, created } = await api.call(
      'deploymentsCreateRun',
      {
        params: { id: deployment.id },
        body: {
          parameters,
          ...(tags.length ? { tags } : {}),
          ...(name ? { name } : {}),
          ...(queue ? { workQueue: queue } : {}),
          ...(startAt ? { scheduledTime: startAt.toISOString() } : {}),
          ...(resources ? { resources } : {}),
        },
        ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
      },
      `cannot start a run of ${ref}`,
    );
    const verb = created ? 'created' : 'found existing';
    const starts = startAt ? `, starts ${shortTime(flowRun.expectedStartTime)} UTC` : '';
    if (!booleanOption(ctx.values, 'watch')) {
      if (ctx.json) ctx.out(json(flowRun));
      else {
        ctx.err(`${verb} run ${flowRun.name} of ${deploymentLabel(flowRun)} (${stateLabel(flowRun)}${starts})`);
        ctx.err(`dashboard: ${ctx.color.err.cyan(api.runUrl(flowRun.id))}`);
        const notice = waitingNotice(flowRun);
        if (notice) ctx.err(notice);
        ctx.out(flowRun.id);
      }
      return EXIT.ok;
    }
    ctx.err(
      `${verb} run ${flowRun.name} (${flowRun.id}) of ${deploymentLabel(flowRun)}${starts}; following it (Ctrl-C stops following, not the run)`,
    );
    ctx.err(`dashboard: ${ctx.color.err.cyan(api.runUrl(flowRun.id))}`);
    return watch(ctx, flowRun.id);
  },
};

/** Follows a run to its end, printing logs; the exit code says whether it COMPLETED. */
export async function watch(ctx: CommandContext, runId: string): Promise<number> {
  let lastState = '';
  let lastNotice: string | null = null;
  // Until the run starts there is nothing to print but the wait itself.
  let waiting: Spinner | null = ctx.spinner('waiting for the run to start…');
  const started = () => {
    waiting?.stop();
    waiting = null;
  };
  const print = (line: LogLine) => {
    started();
    (ctx.json ? ctx.err : ctx.out)(formatLogLine(line));
  };
  const onRun = (run: FlowRun) => {
    if (!WAITING.has(run.state.type)) started();
    const state = stateLabel(run);
    if (state !== lastState && !isTerminal(run.state.type)) ctx.err(`state: ${stateColor(ctx.color.err, run.state.type, state)}`);
    lastState = state;
    const notice = waitingNotice(run);
    if (notice && notice !== lastNotice) ctx.err(notice);
    lastNotice = notice;
  };
  const result = await followLogs(ctx.api(), runId, {
    follow: true,
    print,
    onRun,
    signal: interruptSignal(ctx.interrupts),
  }).finally(started);
  if (result.kind === 'interrupted' || !result.run) {
    ctx.err(`stopped following; the run goes on: outpost logs ${runId} --follow`);
    return 130;
  }
  const final = result.run;
  if (ctx.json) ctx.out(json(final));
  else
    ctx.err(
      `run ${final.name} ended ${stateColor(ctx.color.err, final.state.type, stateLabel(final))}${final.state.message ? `: ${final.state.message}` : ''}`,
    );
  return final.state.type === 'COMPLETED' ? EXIT.ok : EXIT.failed;
}

/** States of a run that has not started: a spinner says it waits. */
const WAITING = new Set<string>(['SCHEDULED', 'PENDING']);

/** Why a run cannot start yet and what to do about it, or null when nothing stands in its way. */
export function waitingNotice(run: FlowRun): string | null {
  const pool = run.workPool;
  if (!pool) return null;
  switch (run.waitingFor) {
    case 'no_worker':
      return `no worker is polling pool "${pool}" — start one with: outpost worker start --pool ${pool}  (OUTPOST_API_URL and a worker key in OUTPOST_API_KEY)`;
    case 'pool_paused':
      return `pool "${pool}" is paused — resume it with: outpost pools resume ${pool}`;
    default:
      return null;
  }
}

/** `--gpus 2 --gpu-memory-gb 40 --memory-gb 16 --cpus 2` as a resource request; undefined when none is given. */
function resourceOptions(values: CommandContext['values']): ResourceRequest | undefined {
  const request: ResourceRequest = {};
  const flags = [
    ['gpus', 'gpus', true],
    ['gpu-memory-gb', 'gpuMemoryGb', false],
    ['memory-gb', 'memoryGb', false],
    ['cpus', 'cpus', false],
  ] as const;
  for (const [flag, field, whole] of flags) {
    const raw = stringOption(values, flag);
    if (raw === undefined) continue;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || (whole && !Number.isInteger(n))) {
      throw new UsageError(`--${flag} must be a ${whole ? 'whole ' : ''}number ≥ 0, got "${raw}"`);
    }
    request[field] = n;
  }
  return Object.keys(request).length > 0 ? request : undefined;
}
