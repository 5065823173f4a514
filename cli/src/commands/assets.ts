import type {
  Asset,
  AssetAutomationEvaluation,
  AssetCheckStatus,
  AssetHealth,
  AssetMaterializeRequest,
  AssetMaterializeResponse,
  PartitionSelection,
  PartitionStatus,
  PartitionsDefinition,
} from '@outpost/sdk/contracts';
import { AssetHealth as AssetHealthSchema, PartitionStatus as PartitionStatusSchema } from '@outpost/sdk/contracts';
import type { Api } from '../api.js';
import type { Command, CommandContext } from '../command.js';
import { booleanOption, stringList, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, printList, shortTime, table } from '../output.js';
import { everyItem } from '../pages.js';
import { parseLimit } from '../resolve.js';

/*
 * `outpost assets …`: the catalog, materialising (one run, or a backfill over partitions), checks
 * and waivers, and `outpost partitions …` for dynamic partition sets. Everything here is metadata:
 * the data an asset holds never passes through the API.
 */

const partitionOptions = {
  partition: {
    type: 'string',
    multiple: true,
    placeholder: '<key|first..last>',
    description: 'a partition, or an inclusive range first..last',
  },
  'all-partitions': { type: 'boolean', description: 'every partition the definition has now' },
} as const;

export const assetsLs: Command = {
  name: 'assets ls',
  summary: 'List assets with their health, last materialisation and why any is stale',
  options: {
    search: {
      type: 'string',
      short: 's',
      placeholder: '<text>',
      description: 'keys, descriptions, owners or tags containing it',
    },
    owner: { type: 'string', placeholder: '<owner>', description: 'owned by this owner' },
    group: { type: 'string', placeholder: '<group>', description: 'in this group' },
    health: { type: 'string', placeholder: '<health>', description: `only this health: ${AssetHealthSchema.options.join(', ')}` },
  },
  async run(ctx) {
    const health = stringOption(ctx.values, 'health');
    if (health !== undefined && !AssetHealthSchema.safeParse(health.toUpperCase()).success)
      throw new UsageError(`--health must be one of ${AssetHealthSchema.options.join(', ')}, got "${health}"`);
    const query = {
      ...optional('q', stringOption(ctx.values, 'search')),
      ...optional('owner', stringOption(ctx.values, 'owner')),
      ...optional('group', stringOption(ctx.values, 'group')),
      ...(health ? { health: health.toUpperCase() as AssetHealth } : {}),
    };
    const items = await allAssets(ctx.api(), query);
    return printList(
      ctx,
      items,
      ['KEY', 'HEALTH', 'LAST MATERIALISED (UTC)', 'PARTITIONS', 'DEPLOYMENT', 'WHY'],
      (a) => [
        a.key,
        a.health,
        shortTime(a.latest?.createdAt),
        a.partitionCounts ? `${a.partitionCounts.MATERIALIZED}/${a.partitionCounts.total}` : '-',
        a.deploymentName,
        why(a),
      ],
      'no assets (an asset deployment registers them: `assets: true` in outpost.config.ts, then `outpost deploy`)',
    );
  },
};

export const assetsGet: Command = {
  name: 'assets get',
  args: '<key>',
  summary: 'Show an asset: definition, checks, latest materialisation and why it is stale',
  async run(ctx) {
    const key = ctx.positionals[0]!;
    const asset = await ctx.api().call('assetsGet', { query: { key } }, `cannot read asset ${key}`);
    const evaluations = asset.automation
      ? (await ctx.api().call('assetsEvaluations', { query: { key, limit: 5 } }, `cannot read the automation of ${key}`)).items
      : [];
    return ctx.result(asset.automation ? { ...asset, evaluations } : asset, [
      ...describeAsset(asset),
      ...describeAutomation(asset, evaluations),
    ]);
  },
};

export const assetsMaterialize: Command = {
  name: 'assets materialize',
  args: '<key>...',
  summary: 'Materialise assets on a worker: one run, or a backfill when several partitions are selected',
  positionals: { min: 1, max: 2_000 },
  options: {
    ...partitionOptions,
    upstream: { type: 'boolean', description: 'also materialise everything upstream of them, first' },
    downstream: { type: 'boolean', description: 'also materialise everything downstream of them, after' },
    'max-concurrent': { type: 'string', placeholder: '<n>', description: 'for a backfill: at most n runs at once (default 1)' },
    'single-run': { type: 'boolean', description: 'for a backfill of assets that accept ranges: one run over the whole range' },
  },
  notes: [
    'Example: outpost assets materialize features --partition 2026-03-01 --upstream',
    'Example: outpost assets materialize raw/events --partition 2026-01-01..2026-12-31 --max-concurrent 4',
  ],
  async run(ctx) {
    return requestMaterialization(ctx, false);
  },
};

export const assetsCheck: Command = {
  name: 'assets check',
  args: '<key>...',
  summary: "Run assets' checks alone, against the data as it is",
  positionals: { min: 1, max: 2_000 },
  options: { ...partitionOptions },
  async run(ctx) {
    return requestMaterialization(ctx, true);
  },
};

export const assetsWaive: Command = {
  name: 'assets waive',
  args: '<key> <check>',
  summary: 'Waive a failed blocking check so downstream materialisation may go on (admins; audited)',
  options: {
    reason: {
      type: 'string',
      placeholder: '<text>',
      description: 'why the failure is acceptable (required, kept in the audit log)',
    },
    partition: { type: 'string', placeholder: '<key>', description: 'waive one partition only (default: every partition)' },
  },
  async run(ctx) {
    const [assetKey, checkName] = ctx.positionals as [string, string];
    const reason = stringOption(ctx.values, 'reason');
    if (!reason) throw new UsageError('a waiver needs --reason "<why the failure is acceptable>"');
    const partitionKey = stringOption(ctx.values, 'partition');
    const waiver = await ctx
      .api()
      .call(
        'assetsWaive',
        { body: { assetKey, checkName, reason, ...(partitionKey ? { partitionKey } : {}) } },
        `cannot waive ${assetKey}:${checkName}`,
      );
    if (ctx.json) ctx.out(json(waiver));
    else
      ctx.out(
        `waived ${waiver.assetKey}:${waiver.checkName}${waiver.partitionKey ? ` [${waiver.partitionKey}]` : ''} by ${waiver.waivedBy}: downstream may materialise`,
      );
    return EXIT.ok;
  },
};

export const assetsPartitions: Command = {
  name: 'assets partitions',
  args: '<key>',
  summary: "A partitioned asset's partitions with their status (missing, materialised, failed, stale)",
  options: {
    status: {
      type: 'string',
      placeholder: '<status>',
      description: `only this status: ${PartitionStatusSchema.options.join(', ')}`,
    },
  },
  async run(ctx) {
    const key = ctx.positionals[0]!;
    const raw = stringOption(ctx.values, 'status');
    const status = raw === undefined ? undefined : raw.toUpperCase();
    if (status !== undefined && !PartitionStatusSchema.safeParse(status).success)
      throw new UsageError(`--status must be one of ${PartitionStatusSchema.options.join(', ')}, got "${raw}"`);
    const api = ctx.api();
    const partitions = [];
    let cursor: string | undefined;
    let counts = null;
    do {
      const page = await api.call(
        'assetsPartitions',
        { query: { key, ...(status ? { status: status as PartitionStatus } : {}), ...optional('cursor', cursor) } },
        `cannot read the partitions of ${key}`,
      );
      partitions.push(...page.partitions);
      counts = page.counts;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    if (ctx.json) {
      ctx.out(json({ counts, partitions }));
      return EXIT.ok;
    }
    if (counts)
      ctx.err(
        `${counts.total} partition(s): ${counts.MATERIALIZED} materialised, ${counts.STALE} stale, ${counts.FAILED} failed, ${counts.MATERIALIZING} materialising, ${counts.MISSING} missing`,
      );
    for (const line of table(
      ['PARTITION', 'STATUS', 'MATERIALISED (UTC)', 'WHY'],
      partitions.map((p) => [
        p.key,
        p.blocked ? `${p.status} (blocked)` : p.status,
        shortTime(p.materializedAt),
        p.staleReason ?? '',
      ]),
    ))
      ctx.out(line);
    return EXIT.ok;
  },
};

export const assetsMaterializations: Command = {
  name: 'assets history',
  args: '<key>',
  summary: "An asset's materialisations, newest first: run, partition, code and data versions, metadata",
  options: {
    partition: { type: 'string', placeholder: '<key>', description: 'only this partition' },
    limit: { type: 'string', short: 'n', placeholder: '<n>', description: 'at most n (default 20, at most 200)' },
  },
  async run(ctx) {
    const key = ctx.positionals[0]!;
    const rawLimit = stringOption(ctx.values, 'limit');
    const limit = rawLimit === undefined ? 20 : parseLimit(rawLimit, 1, 200, '--limit');
    const partition = stringOption(ctx.values, 'partition');
    const { items } = await ctx
      .api()
      .call(
        'assetsMaterializations',
        { query: { key, limit, ...optional('partition', partition) } },
        `cannot read the history of ${key}`,
      );
    return printList(
      ctx,
      items,
      ['WHEN (UTC)', 'PARTITION', 'RUN', 'CODE', 'DATA', 'METADATA'],
      (m) => [
        shortTime(m.createdAt),
        m.partitionKey ?? '-',
        m.flowRunId,
        m.codeVersion.slice(0, 12),
        m.dataVersion?.slice(0, 19) ?? '-',
        metadataLine(m.metadata),
      ],
      `${key} has not been materialised${partition ? ` for partition ${partition}` : ''}`,
    );
  },
};

export const partitionsLs: Command = {
  name: 'partitions ls',
  args: '<set>',
  summary: 'The keys of a dynamic partition set, in the order they were added',
  async run(ctx) {
    const name = ctx.positionals[0]!;
    const set = await ctx.api().call('dynamicPartitionsList', { params: { name } }, `cannot read partition set ${name}`);
    if (ctx.json) ctx.out(json(set));
    else if (set.keys.length === 0)
      ctx.err(`partition set ${name} has no keys (add some with \`outpost partitions add ${name} <key>...\`)`);
    else for (const k of set.keys) ctx.out(k);
    return EXIT.ok;
  },
};

export const partitionsAdd: Command = {
  name: 'partitions add',
  args: '<set> <key>...',
  summary: 'Add keys to a dynamic partition set (keys already there stay once)',
  positionals: { min: 2, max: 10_001 },
  async run(ctx) {
    const [name, ...keys] = ctx.positionals as [string, ...string[]];
    const set = await ctx
      .api()
      .call('dynamicPartitionsAdd', { params: { name }, body: { keys } }, `cannot add to partition set ${name}`);
    return ctx.result(set, `added ${set.added ?? keys.length} key(s) to ${name}; it has ${set.keys.length}`);
  },
};

export const partitionsRm: Command = {
  name: 'partitions rm',
  args: '<set> <key>',
  summary: 'Remove a key from a dynamic partition set (its materialisations stay)',
  async run(ctx) {
    const [name, key] = ctx.positionals as [string, string];
    await ctx.api().call('dynamicPartitionsDelete', { params: { name, key } }, `cannot remove ${key} from partition set ${name}`);
    return ctx.result({ name, removed: key }, `removed ${key} from ${name}`);
  },
};

async function requestMaterialization(ctx: CommandContext, checksOnly: boolean): Promise<number> {
  const partitions = partitionSelection(stringList(ctx.values, 'partition'), booleanOption(ctx.values, 'all-partitions'));
  const rawMax = stringOption(ctx.values, 'max-concurrent');
  const body: AssetMaterializeRequest = {
    assets: ctx.positionals,
    checksOnly,
    ...(booleanOption(ctx.values, 'upstream') ? { upstream: true } : {}),
    ...(booleanOption(ctx.values, 'downstream') ? { downstream: true } : {}),
    ...(partitions ? { partitions } : {}),
    ...(rawMax !== undefined ? { maxConcurrent: parseLimit(rawMax, 1, 1000, '--max-concurrent') } : {}),
    ...(booleanOption(ctx.values, 'single-run') ? { singleRun: true } : {}),
  };
  const what = checksOnly ? 'check' : 'materialise';
  const api = ctx.api();
  const spinner = ctx.spinner(`asking to ${what} ${ctx.positionals.join(', ')}…`);
  const result: AssetMaterializeResponse = await api
    .call('assetsMaterialize', { body }, `cannot ${what} ${ctx.positionals.join(', ')}`)
    .finally(() => spinner.stop());
  if (ctx.json) ctx.out(json(result));
  else {
    const order = result.assets.join(' → ');
    if (result.backfillId) {
      ctx.out(
        `backfill ${result.backfillId} will ${what} ${order} (follow it with \`outpost backfills get ${result.backfillId}\`)`,
      );
      const backfill = await api.attempt('backfillsGet', { params: { id: result.backfillId } });
      if (backfill.ok) ctx.err(`dashboard: ${ctx.color.err.cyan(api.deploymentUrl(backfill.data.deploymentId))}`);
    } else {
      ctx.out(`run ${result.flowRunId} will ${what} ${order} (follow it with \`outpost logs ${result.flowRunId}\`)`);
      if (result.flowRunId) ctx.err(`dashboard: ${ctx.color.err.cyan(api.runUrl(result.flowRunId))}`);
    }
  }
  return EXIT.ok;
}

/** `--partition a --partition b`, `--partition first..last` or `--all-partitions`. */
export function partitionSelection(values: string[], all: boolean): PartitionSelection | undefined {
  if (all) {
    if (values.length) throw new UsageError('use either --partition or --all-partitions, not both');
    return { all: true };
  }
  if (values.length === 0) return undefined;
  const ranges = values.filter((v) => v.includes('..'));
  if (ranges.length === 0) return { keys: values };
  if (values.length > 1)
    throw new UsageError('a range (--partition first..last) cannot be combined with other --partition values');
  const [start, end, ...rest] = ranges[0]!.split('..');
  if (!start || !end || rest.length) throw new UsageError(`a range is --partition <first>..<last>, got "${ranges[0]}"`);
  return { range: { start, end } };
}

function describeAsset(a: Asset): string[] {
  const lines = [
    `key           ${a.key}`,
    `health        ${a.health}${a.health === 'BLOCKED' ? `: ${why(a)}` : a.stale.length ? `: ${a.stale.map((r) => r.message).join('; ')}` : ''}`,
    `deployment    ${a.deploymentName}`,
    `code version  ${a.codeVersion}`,
    `upstream      ${a.deps.join(', ') || '-'}`,
    `downstream    ${a.dependents.join(', ') || '-'}`,
    `partitions    ${describePartitions(a.partitions)}`,
  ];
  if (a.partitionCounts) {
    const c = a.partitionCounts;
    lines.push(
      `              ${c.MATERIALIZED} materialised, ${c.STALE} stale, ${c.FAILED} failed, ${c.MISSING} missing of ${c.total}`,
    );
  }
  if (a.description) lines.push(`description   ${a.description}`);
  if (a.owners.length) lines.push(`owners        ${a.owners.join(', ')}`);
  if (a.tags.length) lines.push(`tags          ${a.tags.join(', ')}`);
  if (a.group) lines.push(`group         ${a.group}`);
  if (a.io) lines.push(`i/o manager   ${a.io}`);
  const m = a.latest;
  lines.push(
    m
      ? `latest        ${shortTime(m.createdAt)} UTC by run ${m.flowRunId}${m.partitionKey ? ` [${m.partitionKey}]` : ''}, data ${m.dataVersion ?? '-'}${Object.keys(m.metadata).length ? `, ${metadataLine(m.metadata)}` : ''}`
      : 'latest        never materialised',
  );
  if (a.checks.length) {
    lines.push('checks:');
    lines.push(...table(['CHECK', 'BLOCKING', 'LATEST', 'WHEN (UTC)', 'NOTE'], a.checks.map(checkRow)).map((l) => `  ${l}`));
    // A partitioned check passes or fails per partition: the newest result can pass while an older
    // partition's failure blocks, so those failures are listed (as the dashboard's asset page does).
    for (const c of a.checks) {
      const partitioned = c.failures.filter((f) => f.result.partitionKey !== null);
      if (partitioned.length === 0) continue;
      const more = c.failureCount > partitioned.length ? `, newest ${partitioned.length} of ${c.failureCount}` : '';
      lines.push(`  ${c.name} failed on (latest result of each partition${more}):`);
      lines.push(
        ...table(
          ['PARTITION', 'RESULT', 'WHEN (UTC)', 'RUN', 'NOTE'],
          partitioned.map((f) => [
            f.result.partitionKey ?? '-',
            `failed (${f.result.severity})`,
            shortTime(f.result.createdAt),
            f.result.flowRunId,
            f.waiver ? `waived by ${f.waiver.waivedBy}: ${f.waiver.reason}` : f.blocks ? 'blocks downstream' : '',
          ]),
        ).map((l) => `    ${l}`),
      );
    }
  }
  return lines;
}

function cronWords(c: { cron: string; timezone: string }): string {
  return `${c.cron} (${c.timezone})`;
}

/** The asset's automation and freshness policies in words, its freshness now, and the latest decisions. */
function describeAutomation(a: Asset, evaluations: readonly AssetAutomationEvaluation[]): string[] {
  const lines: string[] = [];
  const p = a.automation;
  if (p) {
    const when = [
      p.onUpstreamUpdate ? 'when an upstream is materialised' : null,
      p.cron ? `at ${cronWords(p.cron)} if an upstream changed` : null,
      p.onMissing ? 'when missing' : null,
    ].filter((w) => w !== null);
    lines.push(`automation    materialise ${when.join(', ')}`);
  }
  if (a.freshness) {
    const bound = a.freshness.cron
      ? `at most ${a.freshness.maxLagMinutes} min old at each ${cronWords(a.freshness.cron)}`
      : `at most ${a.freshness.maxLagMinutes} min old`;
    const state = a.freshnessState;
    const now = state
      ? state.status === 'VIOLATED'
        ? `OVERDUE by ${state.overdueMinutes} min (data before ${shortTime(state.deadline)} UTC is too old)`
        : 'ok'
      : '';
    lines.push(`freshness     ${bound}: ${now}`);
  }
  if (evaluations.length) {
    lines.push('automation decisions:');
    lines.push(
      ...table(
        ['WHEN (UTC)', 'PARTITION', 'OUTCOME', 'RUN', 'WHY'],
        evaluations.map((e) => [
          shortTime(e.createdAt),
          e.partitionKey ?? '-',
          e.outcome === 'REQUESTED' ? 'requested' : `skipped (${e.skipReason})`,
          e.flowRunId ?? '-',
          e.message,
        ]),
      ).map((l) => `  ${l}`),
    );
  }
  return lines;
}

function checkRow(c: AssetCheckStatus): string[] {
  const latest = c.latest
    ? `${c.latest.passed ? 'passed' : `failed (${c.latest.severity})`}${c.latest.partitionKey ? ` [${c.latest.partitionKey}]` : ''}`
    : 'not run';
  const partitioned = c.failures.some((f) => f.result.partitionKey !== null);
  const more = c.failures.length < c.failureCount ? ' or more' : '';
  const on = (n: number) => (partitioned ? `failed on ${n}${more} partition${n === 1 && !more ? '' : 's'}` : '');
  const notes: string[] = [];
  if (c.blocksDownstream)
    notes.push([on(c.failures.filter((f) => f.blocks).length), 'blocks downstream'].filter(Boolean).join(', '));
  else if (partitioned && c.failures.some((f) => f.waiver === null))
    notes.push(on(c.failures.filter((f) => f.waiver === null).length));
  if (c.waiver)
    notes.push(`waived${c.waiver.partitionKey ? ` [${c.waiver.partitionKey}]` : ''} by ${c.waiver.waivedBy}: ${c.waiver.reason}`);
  return [c.name, c.blocking ? 'yes' : 'no', latest, shortTime(c.latest?.createdAt), notes.join('; ')];
}

/** A partitions definition in words: "daily from 2026-01-01 (Europe/Berlin)". */
export function describePartitions(def: PartitionsDefinition | null): string {
  if (!def) return 'none';
  switch (def.kind) {
    case 'time':
      return `${def.cadence} from ${def.start}${def.end ? ` to ${def.end}` : ''} (${def.timezone})`;
    case 'static':
      return `static: ${def.keys.length <= 8 ? def.keys.join(', ') : `${def.keys.slice(0, 8).join(', ')}, … (${def.keys.length})`}`;
    case 'dynamic':
      return `dynamic set "${def.name}"`;
    case 'multi':
      return def.dimensions.map((d) => `${d.name}: ${describePartitions(d.partitions)}`).join(' × ');
  }
}

function why(a: Asset): string {
  if (a.health === 'BLOCKED') {
    const c = a.checks.find((x) => x.blocksDownstream);
    if (!c) return 'blocked upstream';
    const keys = c.failures.filter((f) => f.blocks && f.result.partitionKey !== null).map((f) => f.result.partitionKey);
    return `check ${c.name} failed${keys.length ? ` on ${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''}` : ''}`;
  }
  return a.stale[0]?.message ?? '';
}

function metadataLine(metadata: Record<string, unknown>): string {
  const text = Object.entries(metadata)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function allAssets(api: Api, query: Record<string, string>): Promise<Asset[]> {
  return everyItem((cursor) =>
    api.call('assetsList', { query: { ...query, limit: 2000, ...optional('cursor', cursor) } }, 'cannot list assets'),
  );
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
