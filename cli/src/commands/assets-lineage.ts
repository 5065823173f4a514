import {
  type AssetMaterializationLineageResponse,
  LINEAGE_MAX_DEPTH,
  LINEAGE_MAX_NODES,
  type LineageMaterialization,
} from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, shortTime } from '../output.js';

/*
 * `outpost assets lineage <key>`: what produced one materialisation (the latest by default) — the
 * upstream materialisations it consumed, walked upstream, with runs, code, checks, waivers and
 * registrations. A tree for people; `--json` prints the API's document unchanged, for auditors.
 */

export const assetsLineage: Command = {
  name: 'assets lineage',
  args: '<key>',
  summary: 'What produced a materialisation: upstream partitions and versions, checks and waivers, registrations',
  options: {
    at: { type: 'string', placeholder: '<materialisation id>', description: 'this materialisation (default: the latest)' },
    partition: { type: 'string', placeholder: '<key>', description: 'the latest materialisation of this partition' },
    depth: {
      type: 'string',
      placeholder: '<n>',
      description: `levels upstream to walk (default 10, at most ${LINEAGE_MAX_DEPTH})`,
    },
    'max-nodes': {
      type: 'string',
      placeholder: '<n>',
      description: `materialisations to describe (default 100, at most ${LINEAGE_MAX_NODES})`,
    },
  },
  async run(ctx) {
    const key = ctx.positionals[0]!;
    const at = stringOption(ctx.values, 'at');
    const partition = stringOption(ctx.values, 'partition');
    const depth = stringOption(ctx.values, 'depth');
    const nodes = stringOption(ctx.values, 'max-nodes');
    const doc = await ctx.api().call(
      'assetsMaterializationLineage',
      {
        query: {
          key,
          ...(at !== undefined ? { at } : {}),
          ...(partition !== undefined ? { partition } : {}),
          ...(depth !== undefined ? { maxDepth: count(depth, 0, LINEAGE_MAX_DEPTH, '--depth') } : {}),
          ...(nodes !== undefined ? { maxNodes: count(nodes, 1, LINEAGE_MAX_NODES, '--max-nodes') } : {}),
        },
      },
      `cannot read the lineage of ${key}${at !== undefined ? ` at ${at}` : ''}`,
    );
    if (ctx.json) {
      ctx.out(json(doc));
      return EXIT.ok;
    }
    for (const line of lineageTree(doc)) ctx.out(line);
    if (doc.truncated) {
      ctx.err(
        `the lineage is cut short (${doc.omitted} upstream materialisation(s) not shown, at most ${doc.limits.maxDepth} level(s) and ${doc.limits.maxNodes} materialisation(s)): raise --depth or --max-nodes`,
      );
    }
    return EXIT.ok;
  },
};

function count(raw: string, min: number, max: number, flag: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

function label(m: Pick<LineageMaterialization, 'assetKey' | 'partitionKey'>): string {
  return m.partitionKey === null ? m.assetKey : `${m.assetKey} [${m.partitionKey}]`;
}

function short(version: string | null): string {
  if (version === null) return '-';
  return version.length > 24 ? `${version.slice(0, 23)}…` : version;
}

/** The materialisation and, indented under each input, the upstream materialisations it consumed. */
export function lineageTree(doc: AssetMaterializationLineageResponse): string[] {
  const byId = new Map(doc.materializations.map((m) => [m.id, m]));
  const shown = new Set<string>();
  const lines: string[] = [];
  const visit = (m: LineageMaterialization, indent: string) => {
    shown.add(m.id);
    lines.push(`${indent}${label(m)}  ${m.id}`);
    const at = `${indent}  `;
    lines.push(`${at}materialised ${shortTime(m.createdAt)} UTC by run ${m.run.id} (attempt ${m.attempt})`);
    lines.push(`${at}code ${short(m.codeVersion)}  data ${short(m.dataVersion)}`);
    if (m.run.source !== null) lines.push(`${at}source ${m.run.source}${m.run.sourceDigest ? ` (${m.run.sourceDigest})` : ''}`);
    for (const r of m.registrations) {
      // Sorted: the stored order of a JSON object's keys is the database's, not the writer's.
      const details = Object.entries(r.details)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      lines.push(`${at}registered in ${r.registry}: ${details}`);
    }
    for (const c of m.checks) {
      const kind = `${c.severity}, ${c.blocking ? 'blocking' : 'not blocking'}`;
      lines.push(`${at}check ${c.checkName}: ${c.passed ? 'passed' : 'failed'} (${kind})`);
      for (const w of c.waivers) lines.push(`${at}  waived by ${w.waivedBy} ${shortTime(w.createdAt)} UTC: ${w.reason}`);
    }
    if (!m.inputsRecorded) {
      lines.push(`${at}inputs not recorded (materialised before Outpost recorded them)`);
      return;
    }
    for (const input of m.inputs) {
      const count = input.partitioned
        ? input.partitionKey !== null
          ? ` [${input.partitionKey}]`
          : ` (${input.partitionCount > 10_000 ? 'more than 10,000' : input.partitionCount} partition(s))`
        : '';
      lines.push(`${at}← ${input.assetKey}${count}`);
      if (input.partitions.length === 0) lines.push(`${at}  never materialised when this was written`);
      for (const p of input.partitions) {
        const up = byId.get(p.materializationId);
        const name = label({ assetKey: input.assetKey, partitionKey: p.partitionKey });
        if (up && !shown.has(up.id)) visit(up, `${at}  `);
        else {
          const why = up ? 'shown above' : 'not shown';
          lines.push(
            `${at}  ${name}  ${p.materializationId}  code ${short(p.codeVersion)}  data ${short(p.dataVersion)} (${why})`,
          );
        }
      }
      const unlisted = input.partitionCount - input.partitions.length;
      if (unlisted > 0)
        lines.push(`${at}  … and ${input.partitionCount > 10_000 ? 'more than 9,950' : unlisted} older partition(s)`);
    }
  };
  const root = byId.get(doc.materializationId);
  if (root) visit(root, '');
  return lines;
}
