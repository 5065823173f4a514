import { createReadStream, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type AuditChainReport, AuditChainVerifier } from '@outpost/sdk/audit-chain';
import {
  AuditChainHead,
  AuditEntry,
  type AuditLogQuery,
  type AuditLogResponse,
  MAX_AUDIT_PAGE_SIZE,
} from '@outpost/sdk/contracts';
import { z } from 'zod';
import type { Command, CommandContext } from '../command.js';
import { booleanOption, stringOption } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { organisationTokenApi } from '../organisation-token.js';
import { json, shortTime, table } from '../output.js';
import { parseLimit } from '../resolve.js';

const FILTERS = {
  action: { type: 'string', placeholder: '<action>', description: 'only this action, e.g. apiKeysCreate' },
  actor: { type: 'string', placeholder: '<id>', description: 'only calls by this API key or user id' },
  object: { type: 'string', placeholder: '<id>', description: 'only calls naming or producing this id' },
  since: { type: 'string', placeholder: '<iso-time>', description: 'only calls at or after this time' },
  until: { type: 'string', placeholder: '<iso-time>', description: 'only calls before this time' },
  failures: { type: 'boolean', description: 'only refused calls (status 400 and above)' },
} as const;

function filters(ctx: CommandContext): Omit<AuditLogQuery, 'limit' | 'cursor'> {
  const pick = (name: string) => stringOption(ctx.values, name);
  const actorId = pick('actor');
  const action = pick('action');
  const objectId = pick('object');
  const since = pick('since');
  const until = pick('until');
  return {
    ...(actorId ? { actorId } : {}),
    ...(action ? { action } : {}),
    ...(objectId ? { objectId } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(booleanOption(ctx.values, 'failures') ? { outcome: 'failure' as const } : {}),
  };
}

export const auditLs: Command = {
  name: 'audit ls',
  summary: 'Show audited calls, newest first (owners and admins)',
  options: {
    ...FILTERS,
    limit: { type: 'string', placeholder: '<n>', description: `at most n entries (1–${MAX_AUDIT_PAGE_SIZE}, default 50)` },
  },
  async run(ctx) {
    const limit = parseLimit(stringOption(ctx.values, 'limit'), 50, MAX_AUDIT_PAGE_SIZE);
    const page = await ctx.api().call('auditLogList', { query: { limit, ...filters(ctx) } }, 'cannot read the audit log');
    if (ctx.json) {
      ctx.out(json(page.items));
      return EXIT.ok;
    }
    const rows = page.items.map((e) => [
      shortTime(e.occurredAt),
      `${e.actor.kind}:${e.actor.label ?? e.actor.id ?? '-'}`,
      e.action,
      String(e.status),
      Object.values(e.resultIds)[0] ?? Object.values(e.targetIds)[0] ?? '-',
      e.clientAddress ?? '-',
    ]);
    for (const line of table(['TIME (UTC)', 'ACTOR', 'ACTION', 'STATUS', 'OBJECT', 'FROM'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};

export const auditExport: Command = {
  name: 'audit export',
  summary: 'Print every matching audit entry as NDJSON (one JSON object a line), newest first',
  options: FILTERS,
  notes: ['For oldest-first NDJSON in one response, GET /api/v1/audit-log/export with the same filters.'],
  async run(ctx) {
    const api = ctx.api();
    const selected = filters(ctx);
    let cursor: string | null = null;
    do {
      const page: AuditLogResponse = await api.call(
        'auditLogList',
        { query: { limit: MAX_AUDIT_PAGE_SIZE, ...selected, ...(cursor ? { cursor } : {}) } },
        'cannot read the audit log',
      );
      for (const entry of page.items) ctx.out(JSON.stringify(entry));
      cursor = page.nextCursor;
    } while (cursor);
    return EXIT.ok;
  },
};

/** How many problems of one workspace are printed; the count of the rest follows. */
const PROBLEMS_SHOWN = 20;

/** What an anchor file holds: the heads a verification reached, to be found again the next time. */
interface AnchorFile {
  heads: AuditChainHead[];
}

function readAnchors(path: string | undefined): AuditChainHead[] {
  if (!path || !existsSync(path)) return [];
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as AnchorFile;
    return z.array(AuditChainHead).parse(parsed.heads);
  } catch (error) {
    const reason =
      error instanceof z.ZodError ? `${error.issues[0]?.path.join('.')}: ${error.issues[0]?.message}` : (error as Error).message;
    throw new UsageError(`cannot read the anchor file ${path}: ${reason}`, [
      'it is the file an earlier `outpost audit verify --anchor` wrote; move it aside to start a new one',
    ]);
  }
}

/** The anchor file with each verified workspace's last place, keeping the anchors of workspaces this export did not cover. */
function writeAnchors(path: string, previous: readonly AuditChainHead[], reports: readonly AuditChainReport[]): void {
  const heads = new Map(previous.map((h) => [h.workspaceId, h]));
  for (const r of reports)
    if (r.lastSeq && r.lastHash) heads.set(r.workspaceId, { workspaceId: r.workspaceId, seq: r.lastSeq, hash: r.lastHash });
  const file: AnchorFile = { heads: [...heads.values()] };
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

/** Each line of an NDJSON export, checked against the entry's contract; `where` names the source in errors. */
async function* exportLines(source: AsyncIterable<string>, where: string): AsyncGenerator<AuditEntry> {
  let n = 0;
  for await (const line of source) {
    n += 1;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new CliError(`${where}, line ${n}: not JSON; is this an audit export?`, EXIT.failed);
    }
    const entry = AuditEntry.safeParse(parsed);
    if (!entry.success) {
      const issue = entry.error.issues[0];
      throw new CliError(
        `${where}, line ${n}: not an audit entry with its chain (${issue?.path.join('.') || 'entry'}: ${issue?.message ?? 'invalid'})`,
        EXIT.failed,
      );
    }
    yield entry.data;
  }
}

/** The lines of a response body, as they arrive. */
async function* bodyLines(res: Response): AsyncGenerator<string> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    let end = rest.indexOf('\n');
    while (end >= 0) {
      yield rest.slice(0, end);
      rest = rest.slice(end + 1);
      end = rest.indexOf('\n');
    }
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}

export const auditVerify: Command = {
  name: 'audit verify',
  summary: "Verify the audit log's hash chain entry by entry, from its first entry to the head the server reports",
  options: {
    organisation: {
      type: 'string',
      placeholder: '<slug>',
      description: 'every workspace of the organisation, read with the organisation token in OUTPOST_ORGANISATION_TOKEN',
    },
    workspace: { type: 'string', placeholder: '<slug>', description: 'with --organisation: only this workspace' },
    file: { type: 'string', placeholder: '<path>', description: 'verify a saved NDJSON export instead of reading the server' },
    partial: { type: 'boolean', description: 'with --file: the export was filtered, so gaps between its entries are expected' },
    anchor: {
      type: 'string',
      placeholder: '<path>',
      description: 'heads kept from the last verification: the chain must still pass through them (updated when it holds)',
    },
  },
  notes: [
    'Each entry hashes the one before it, so an entry changed, removed or reordered after it was written breaks the',
    'chain from there on. Keep an --anchor file between runs to catch a history rewritten with its hashes recomputed.',
    'Without --organisation it reads the workspace of the API key (owners and admins).',
  ],
  async run(ctx) {
    const file = stringOption(ctx.values, 'file');
    const organisation = stringOption(ctx.values, 'organisation');
    const workspace = stringOption(ctx.values, 'workspace');
    const anchorPath = stringOption(ctx.values, 'anchor');
    const partial = booleanOption(ctx.values, 'partial');
    if (workspace && !organisation) throw new UsageError('--workspace names a workspace of --organisation: give both');
    if (file && organisation) throw new UsageError('--file verifies a saved export; --organisation reads the server: give one');
    if (partial && !file) throw new UsageError('--partial is for a saved export (--file); the server is read whole');
    if (partial && anchorPath) {
      throw new UsageError('--anchor needs a whole export: a filtered one (--partial) cannot show the chain passes through it');
    }
    const anchors = readAnchors(anchorPath);
    const names = new Map<string, string>();
    let verifier: AuditChainVerifier;
    let read = 0;
    const readAll = async (entries: AsyncIterable<AuditEntry>) => {
      for await (const entry of entries) {
        verifier.add(entry);
        read += 1;
      }
    };

    if (file) {
      if (!existsSync(file)) throw new UsageError(`no file at ${file}`);
      verifier = new AuditChainVerifier({ complete: !partial, anchors });
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
      await readAll(exportLines(lines, file));
    } else {
      let api = ctx.api;
      let path = '/audit-log/export';
      let heads: AuditChainHead[];
      if (organisation) {
        const tokenApi = organisationTokenApi(ctx, 'audit:read');
        api = () => tokenApi;
        const listed = await tokenApi.call(
          'organisationAuditHeads',
          { params: { org: organisation } },
          'cannot read the chain heads',
        );
        for (const h of listed.items) names.set(h.workspaceId, h.workspace);
        heads = listed.items.filter((h) => !workspace || h.workspace === workspace).map(({ workspace: _slug, ...head }) => head);
        if (workspace && heads.length === 0) {
          throw new CliError(`the organisation "${organisation}" has no workspace "${workspace}"`, EXIT.failed);
        }
        path = `/organisations/${encodeURIComponent(organisation)}/audit-log/export${workspace ? `?workspace=${encodeURIComponent(workspace)}` : ''}`;
      } else {
        heads = [await api().call('auditLogHead', {}, 'cannot read the chain head')];
      }
      // The heads are read first: everything up to them had committed, so the export must reach them.
      verifier = new AuditChainVerifier({ complete: true, heads, anchors });
      const res = await api().openStream(
        path,
        'cannot read the audit export',
        new AbortController().signal,
        'application/x-ndjson',
      );
      try {
        await readAll(exportLines(bodyLines(res), 'the export'));
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(
          `the export was cut off after ${read} entries (${(error as Error).message}): run the command again`,
          EXIT.unreachable,
        );
      }
    }

    const reports = verifier.finish();
    const problems = reports.reduce((n, r) => n + r.problems.length, 0);
    if (ctx.json) ctx.out(json(reports));
    else {
      const rows = reports.map((r) => [
        names.get(r.workspaceId) ?? r.workspaceId,
        String(r.entries),
        r.firstSeq === null ? '-' : `${r.firstSeq}–${r.lastSeq}`,
        r.lastHash?.slice(0, 12) ?? '-',
        r.problems.length > 0
          ? ctx.color.out.red('broken')
          : r.gaps.length > 0
            ? `holds, ${r.gaps.length} gaps`
            : ctx.color.out.green('holds'),
      ]);
      for (const line of table(['WORKSPACE', 'ENTRIES', 'PLACES', 'LAST HASH', 'CHAIN'], rows)) ctx.out(line);
      for (const r of reports) {
        for (const p of r.problems.slice(0, PROBLEMS_SHOWN)) ctx.err(`${names.get(r.workspaceId) ?? r.workspaceId}: ${p}`);
        if (r.problems.length > PROBLEMS_SHOWN) ctx.err(`… and ${r.problems.length - PROBLEMS_SHOWN} more in this workspace`);
      }
    }
    if (problems > 0) {
      ctx.err(
        `the audit chain does not hold: ${problems} problem${problems === 1 ? '' : 's'}; the anchor file was left as it was`,
      );
      return EXIT.failed;
    }
    if (anchorPath) {
      writeAnchors(anchorPath, anchors, reports);
      ctx.err(`kept the heads reached in ${anchorPath}`);
    }
    return EXIT.ok;
  },
};
