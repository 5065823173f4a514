import { AssignedResources, type FlowRunManifest, type ManifestAttempt } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { EXIT } from '../errors.js';
import { json, shortTime, table } from '../output.js';
import { findRun } from '../resolve.js';
import { stateColor } from '../style.js';
import { deploymentLabel, stateLabel } from './runs.js';

export const runsManifest: Command = {
  name: 'runs manifest',
  args: '<run>',
  summary: 'What a run ran (by name or id): pinned code, parameters, job variables, secret names, where each attempt ran',
  notes: [
    'Secrets appear by name only: their values never reach the control plane.',
    'With --json, the manifest as the API returns it.',
  ],
  async run(ctx) {
    const api = ctx.api();
    const run = await findRun(api, ctx.positionals[0]!);
    const manifest = await api.call(
      'flowRunsManifest',
      { params: { id: run.id } },
      `cannot read the manifest of run ${run.name}`,
    );
    return ctx.result(
      manifest,
      describeManifest(manifest, (type, text) => stateColor(ctx.color.out, type, text)),
    );
  },
};

export const runsReproduce: Command = {
  name: 'runs reproduce',
  args: '<run>',
  summary: "Start a new run from a run's manifest: the same code version, entrypoint, parameters and job variables",
  options: {
    name: { type: 'string', placeholder: '<name>', description: "the new run's name (generated when absent)" },
  },
  notes: [
    "The new run is pinned to the original's deployment version, whatever is deployed now, and links back to it.",
    'Example: outpost runs reproduce crimson-otter',
  ],
  async run(ctx) {
    const api = ctx.api();
    const original = await findRun(api, ctx.positionals[0]!);
    const name = stringOption(ctx.values, 'name');
    const spinner = ctx.spinner(`reproducing run ${original.name}…`);
    const { flowRun } = await api
      .call(
        'flowRunsReproduce',
        { params: { id: original.id }, body: name ? { name } : {} },
        `cannot reproduce run ${original.name}`,
      )
      .finally(() => spinner.stop());
    if (ctx.json) {
      ctx.out(json(flowRun));
      return EXIT.ok;
    }
    ctx.err(
      `created run ${flowRun.name} of ${deploymentLabel(flowRun)} (${stateLabel(flowRun)}), reproducing ${original.name} on code ${flowRun.sourceDigest ?? original.sourceDigest ?? '-'}`,
    );
    ctx.err(`dashboard: ${ctx.color.err.cyan(api.runUrl(flowRun.id))}`);
    ctx.out(flowRun.id);
    return EXIT.ok;
  },
};

type Paint = (stateType: string, text: string) => string;

/** The manifest as a person reads it: facts first, then the JSON it carries, then one row per attempt. */
export function describeManifest(m: FlowRunManifest, paint: Paint = (_, t) => t): string[] {
  const facts: [string, string][] = [
    ['run', `${m.flowRunName} (${m.flowRunId})`],
    ['flow', m.flowName],
    ['deployment', m.deployment ?? '-'],
    ['source', m.source ?? '-'],
    ['code digest', m.codeDigest ?? '-'],
    ['entrypoint', m.entrypoint ?? '-'],
    ['pool', m.workPool ? `${m.workPool}/${m.workQueue ?? 'default'}` : '-'],
    ['tags', m.tags.join(', ') || '-'],
    [
      'labels',
      Object.entries(m.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || '-',
    ],
    ['secrets', m.secretNames.join(', ') || '-'],
  ];
  if (m.partitionKey) facts.push(['partition', m.partitionKey]);
  if (m.reproducedFrom) facts.push(['reproduces', `${m.reproducedFrom.name} (${m.reproducedFrom.id})`]);
  const width = Math.max(...facts.map(([k]) => k.length));
  const lines = facts.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${v}`);
  lines.push('', 'parameters:', ...indent(json(m.parameters)), '', 'job variables:', ...indent(json(m.jobVariables)));
  lines.push('', 'attempts:');
  if (m.attempts.length === 0) lines.push('  none yet: no worker has claimed this run');
  else lines.push(...indent(attemptRows(m.attempts, paint)));
  if (m.inputAssets.length > 0) {
    lines.push('', 'input assets:');
    const rows = m.inputAssets.map((a) => [
      a.assetKey,
      a.partitionKey ?? '-',
      a.dataVersion ?? '-',
      a.codeVersion.slice(0, 12),
      a.flowRunId,
      shortTime(a.materializedAt),
    ]);
    lines.push(...indent(table(['ASSET', 'PARTITION', 'DATA VERSION', 'CODE VERSION', 'BY RUN', 'MATERIALISED (UTC)'], rows)));
  }
  if (m.reproducedBy.length > 0) {
    lines.push('', 'reproduced by:');
    lines.push(
      ...indent(
        table(
          ['NAME', 'ID', 'CREATED (UTC)'],
          m.reproducedBy.map((r) => [r.name, r.id, shortTime(r.createdAt)]),
        ),
      ),
    );
  }
  return lines;
}

function attemptRows(attempts: readonly ManifestAttempt[], paint: Paint): string[] {
  const rows = attempts.map((a) => [
    String(a.attempt),
    a.workerName ?? '-',
    a.executor ?? '-',
    a.workerVersion ?? '-',
    a.nodeVersion ?? '-',
    a.image ? `${a.image}${a.imageDigest ? `@${a.imageDigest}` : ''}` : (a.imageDigest ?? '-'),
    assignedLabel(a.assigned),
    a.state
      ? paint(a.state.type, a.state.name.toUpperCase() === a.state.type ? a.state.type : `${a.state.type} (${a.state.name})`)
      : 'running',
  ]);
  return table(['ATTEMPT', 'WORKER', 'EXECUTOR', 'WORKER VERSION', 'NODE', 'IMAGE', 'ASSIGNED', 'ENDED AS'], rows);
}

/** `GPUs 0,1 · 16 GB · 2 CPUs`; `-` when the claim assigned nothing. */
export function assignedLabel(assigned: unknown): string {
  if (assigned === null || assigned === undefined) return '-';
  const parsed = AssignedResources.safeParse(assigned);
  if (!parsed.success) return JSON.stringify(assigned);
  const { gpus, memoryGb, cpus } = parsed.data;
  const parts = [
    ...(gpus.length ? [`GPU${gpus.length === 1 ? '' : 's'} ${gpus.join(',')}`] : []),
    ...(memoryGb !== null ? [`${memoryGb} GB`] : []),
    ...(cpus !== null ? [`${cpus} CPU${cpus === 1 ? '' : 's'}`] : []),
  ];
  return parts.join(' · ') || '-';
}

function indent(text: string | readonly string[]): string[] {
  return (typeof text === 'string' ? text.split('\n') : text).map((l) => `  ${l}`);
}
