import type { CallFailure } from '@outpost/sdk/client-core';
import { failureCode } from '@outpost/sdk/client-core';
import type { Deployment, FlowRun, JsonObject, LogLine, ResourceRequest } from '@outpost/sdk/contracts';
import { isTerminal } from '@outpost/sdk/contracts';
import type { Command, CommandContext } from '../command.js';
import { booleanOption, stringList, stringOption } from '../command.js';
import { apiFailure, CliError, EXIT, UsageError } from '../errors.js';
import { followLogs, formatLogLine, interruptSignal } from '../follow.js';
import { json, shortTime } from '../output.js';
import { buildParameters } from '../params.js';
import { findDeployment } from '../resolve.js';
import type { Spinner } from '../spinner.js';
import { stateColor } from '../style.js';
import { closest } from '../suggest.js';
import { parseStartAt } from '../times.js';
import { deploymentLabel, stateLabel } from './runs.js';

export const run: Command = {
  name: 'run',
  args: '<flow>/<deployment>',
  summary: 'Start a run of a deployment; with --watch, follow it to the end',
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
    const answer = await api.attempt('deploymentsCreateRun', {
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
    });
    if (!answer.ok) throw parameterFailure(answer, deployment) ?? apiFailure(answer, `cannot start a run of ${ref}`, api.url);
    const { flowRun, created } = answer.data;
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
  const api = ctx.api();
  let lastNotice: string | null = null;
  // How many entries of the run's state history are printed; each poll prints the ones after.
  let printed = 0;
  let lastSeen = '';
  // Until the run starts there is nothing to print but the wait itself.
  let waiting: Spinner | null = ctx.spinner('waiting for the run to start…');
  const started = () => {
    waiting?.stop();
    waiting = null;
  };
  const print = (line: LogLine, task: string | null) => {
    started();
    (ctx.json ? ctx.err : ctx.out)(formatLogLine(line, task));
  };
  const onRun = async (run: FlowRun) => {
    if (!WAITING.has(run.state.type)) started();
    const seen = `${run.attempt}:${run.state.timestamp}:${run.state.type}:${run.state.name}`;
    if (seen !== lastSeen) {
      lastSeen = seen;
      // A poll reads the run's state now; the history has every state it passed through since the last one.
      const { items } = await api.call('flowRunsStates', { params: { id: runId } }, `cannot read the states of run ${runId}`);
      for (const [i, entry] of items.entries()) {
        if (i < printed) continue;
        // The run's final state is the last line, "run … ended …". A terminal entry still last in a
        // history read just after a non-terminal run is the end the next poll reads: it waits for it.
        if (i === items.length - 1 && isTerminal(entry.state.type)) continue;
        const label =
          entry.state.name.toUpperCase() === entry.state.type ? entry.state.type : `${entry.state.type} (${entry.state.name})`;
        ctx.err(
          `state: ${stateColor(ctx.color.err, entry.state.type, label)}${entry.attempt > 1 ? ` (attempt ${entry.attempt})` : ''}`,
        );
        printed = i + 1;
      }
    }
    const notice = waitingNotice(run);
    if (notice && notice !== lastNotice) ctx.err(notice);
    lastNotice = notice;
  };
  const result = await followLogs(api, runId, {
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

const PARAMETERS_PATH = 'body.parameters.';

/**
 * The API's refusal of the parameters, as one line per parameter (`parameters.mode: "fsat" is not
 * one of "fast", "slow"`), with a guess for a name the flow does not have; null for any other failure.
 */
export function parameterFailure(failure: CallFailure, deployment: Deployment): CliError | null {
  if (failureCode(failure) !== 'validation_failed' || failure.kind !== 'http_error') return null;
  const errors = failure.problem?.errors ?? [];
  if (errors.length === 0 || !errors.every((e) => e.path.startsWith(PARAMETERS_PATH))) return null;
  const properties = deployment.parameterSchema?.properties;
  const known = properties && typeof properties === 'object' && !Array.isArray(properties) ? Object.keys(properties) : [];
  const lines = errors.map((e) => {
    const name = e.path.slice(PARAMETERS_PATH.length);
    const top = name.split('.')[0]!;
    const guess = known.includes(top) || known.length === 0 ? null : closest(top, known);
    return `parameters.${name}: ${e.message}${guess ? ` — did you mean ${guess}?` : ''}`;
  });
  return new CliError(lines[0]!, EXIT.usage, lines.slice(1));
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
