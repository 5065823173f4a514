import { createOrganisationToken, startTestServer, type TestServer } from '@outpost/api/testing';
import { growWorkspaces, type Organisation, organisationOfWorkspace, seedDirectoryPeople } from './support/directory-setup.js';
import { expectJson, ownerOf, type PersonSession, type Reply, send, tenantWithRuns } from './support/organisation-http.js';
import { pause, percentile, type Row, row } from './support/row.js';

/**
 * The organisation pages at the documented bounds: one organisation of 50,000 people in 100
 * workspaces with a year of usage and of audit entries, seeded with SQL, against an organisation of
 * one owner and one workspace on the same server. Its health, its people (first page, and every
 * page when the list is paged), its usage over the year and its audit export are timed over HTTP as
 * its owner calls them, samples of both alternated; then another organisation's workspace reads its
 * runs list while the large organisation's four calls run in a loop.
 */
export const timeoutSeconds = 600;

const PEOPLE = 50_000;
const WORKSPACES = 100;
/** Audit entries a workspace gathered over the year: about four a working day (each one hashed by the chain trigger on insert). */
const AUDIT_PER_WORKSPACE = Number(process.env.BENCH_ORGANISATION_AUDIT_PER_WORKSPACE ?? 1_000);
/** Workspaces whose audit entries one INSERT writes (the chain trigger runs once per entry)... */
const AUDIT_BATCH_WORKSPACES = 20;
/** ...and how many of each one's entries. */
const AUDIT_SLICE = 200;
/** Usage deltas not yet folded, spread over the workspaces in the current month. */
const PENDING_DELTAS = 10_000;
const MONTHS = 12;
const SAMPLES = 20;
/** Whole exports of the year and walks of every page, each large and empty alternated (a large one takes seconds). */
const LONG_SAMPLES = 5;
/** Time the samples of one call may take before fewer are kept, and the fewest kept. */
const SAMPLE_BUDGET_MS = 45_000;
const MIN_SAMPLES = 3;
const IDLE_PROBES = 200;
const BUSY_MS = 20_000;
const P95_BOUND_MS = 1_000;
const NEIGHBOUR_BOUND = 2;

export const notes = `### organisation-scale: an organisation at the documented bounds
The large organisation: ${PEOPLE.toLocaleString('en')} people (verified accounts, organisation members, directory users; each a member
of two of its workspaces, ${(2 * PEOPLE).toLocaleString('en')} memberships), ${WORKSPACES} workspaces, ${MONTHS} months of folded usage per
workspace (\`workspace_usage\` rows, one per workspace and month, as the usage loop folds them; the table keeps months, not days)
plus ${PENDING_DELTAS.toLocaleString('en')} pending \`usage_deltas\` in the current month, and a year of audit entries,
${AUDIT_PER_WORKSPACE.toLocaleString('en')} per workspace (${(AUDIT_PER_WORKSPACE * WORKSPACES).toLocaleString('en')} in all, about four a working
day each, inserted in time order through \`audit_log\` so its chain trigger hashes every one). The empty organisation: one
owner, one workspace. Both on one server and database, seeded with SQL; what is timed is one call over HTTP on 127.0.0.1 by
the organisation's owner (password session), request to last byte, ${SAMPLES} samples of each (${LONG_SAMPLES} for the whole export and
the walk of every page; fewer, at least ${MIN_SAMPLES}, once a call's samples have taken ${SAMPLE_BUDGET_MS / 1000} s: each row names its
count), large and empty alternated, after one warm-up each.
- **health**: \`GET /organisations/:org/health\` (its workspaces hold no runs or assets here: this is the cost of 100 workspaces
  and of the organisation's size, not of run history).
- **members**: \`GET /organisations/:org/members\` with the route's default page; when the answer carries a \`nextCursor\`, every
  page walked with \`limit=200\` is its own row (its baseline: the empty organisation's one page).
- **usage**: \`GET /organisations/:org/usage\` for the ${MONTHS} months to this one (${(WORKSPACES * MONTHS).toLocaleString('en')} items).
- **audit export**: \`GET /organisations/:org/audit-log/export\`, the whole year as NDJSON; its first line (time to first
  byte; read with an organisation token with \`audit:read\`, as a SIEM does), and the last day (\`since\` 24 h ago) as a SIEM's daily pull reads it, are rows of their own.
- **another tenant**: \`GET /api/v1/flow-runs?limit=50\` with the owner key of a workspace of a third organisation (60 runs), one
  call after another 10 ms apart: ${IDLE_PROBES} with both organisations idle, then as many as fit while the large organisation's
  owner runs health, members (first page), usage and the whole export one after another in a loop for ${BUSY_MS / 1000} s.
Bounds (from the requirement; the rows show whether they hold, nothing asserts them): each of the four calls under
${P95_BOUND_MS.toLocaleString('en')} ms p95 at these bounds, and the other tenant's p99 raised by at most ${NEIGHBOUR_BOUND}×.

Measured on 2026-11-28 (2 cores, load average about 1, Postgres on the same machine): health p95 27.5 ms (2.4× the empty
organisation), members first page p95 8.9 ms (1.4×), usage p95 34 ms (3.3×), the export's first line p95 134 ms, the last
day's export p95 109 ms: within 1 s. The whole year's export, 100,003 entries, takes 5.3 s p50. The other tenant's p99 is
18.5 ms against 11.9 ms idle (1.56×), within the bound. Before the export was paced, the same run gave 3.4 s for the whole
year and 54.7 ms (4.5×) for the other tenant's p99. The export now works in slices of 500 entries and rests between them,
so that running exports together take at most half of the server's time (services/api/src/http/bulk-reads.ts), and an
organisation runs at most two at once. Each workspace's page is the 5,000-entry buffer shared among the workspaces still
being read, so it grows from 50 as workspaces run out; the merge is a binary heap. On 2026-11-27, under a load average of
8–10 and before the heap, pacing and growing pages, the whole year took 10.7 s p50 and the other tenant's p99 was 5.4×.
Every page of the people takes 3.2 s for 251 pages of 200; before the list was paged, the whole list of 50,000 was one
answer of 8–10.5 s. The first line waits for the first page of all 100 workspaces (read 4 at a time). Seeding takes
30–170 s, most of it the 100,000 audit entries through the chain trigger.`;

interface Org {
  id: string;
  slug: string;
  owner: PersonSession;
  workspaceIds: string[];
  /** An organisation token with audit:read, as a SIEM pulls the export with. */
  auditToken: string;
}

async function timed(what: string, call: () => Promise<Reply>): Promise<{ ms: number; reply: Reply }> {
  const started = performance.now();
  const reply = await call();
  const ms = performance.now() - started;
  if (reply.status !== 200) throw new Error(`${what}: ${reply.status} ${reply.text.slice(0, 400)}`);
  return { ms, reply };
}

/** The large organisation: the bench server's, grown with SQL to the bounds. */
async function seedLarge(server: TestServer): Promise<Org> {
  const sql = server.sql;
  const org = await organisationOfWorkspace(server, server.workspaceId);
  const owner = await ownerOf(server, server.workspaceId, server.ownerKey, 'owner@large.example');
  const workspaceIds = await growWorkspaces(server, org, 'large', WORKSPACES - 1);

  const organisation: Organisation = { ...org, owner, workspaces: [], domain: 'large.example' };
  const people = await seedDirectoryPeople(server, organisation, 'person', PEOPLE);
  // Each person a member of two workspaces, spread evenly over all of them.
  await sql`
    INSERT INTO memberships (workspace_id, user_id, role)
    SELECT (${sql.array(workspaceIds)}::uuid[])[1 + (p.n + k * 37) % ${WORKSPACES}], p.id,
           (ARRAY['developer', 'viewer', 'runner'])[1 + p.n % 3]
    FROM unnest(${sql.array(people)}::uuid[]) WITH ORDINALITY AS p(id, n), generate_series(0, 1) k
    ON CONFLICT DO NOTHING`;

  await sql`
    INSERT INTO workspace_usage (workspace_id, month, runs, task_runs, compute_seconds, log_lines, log_bytes, events, metadata_bytes)
    SELECT w, (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => m))::date,
           3000 + m, 60000 + m, 36000.5, 300000, 30000000, 10000, 9000000
    FROM unnest(${sql.array(workspaceIds)}::uuid[]) w, generate_series(0, ${MONTHS - 1}) m
    ON CONFLICT (workspace_id, month) DO NOTHING`;
  await sql`
    INSERT INTO usage_deltas (workspace_id, month, runs, task_runs, compute_seconds, log_lines, log_bytes, events, metadata_bytes)
    SELECT (${sql.array(workspaceIds)}::uuid[])[1 + n % ${WORKSPACES}], date_trunc('month', now() AT TIME ZONE 'UTC')::date,
           1, 20, 12.5, 100, 10000, 3, 2000
    FROM generate_series(1, ${PENDING_DELTAS}) n`;

  // A year of audit entries per workspace, oldest first so each chain runs in time order; a slice of
  // each chain a statement, since every entry moves its chain's head and a transaction holding
  // thousands of versions of one head row slows each next entry down.
  for (let first = 1; first <= AUDIT_PER_WORKSPACE; first += AUDIT_SLICE) {
    const last = Math.min(AUDIT_PER_WORKSPACE, first + AUDIT_SLICE - 1);
    for (let i = 0; i < workspaceIds.length; i += AUDIT_BATCH_WORKSPACES) {
      const batch = workspaceIds.slice(i, i + AUDIT_BATCH_WORKSPACES);
      await sql`
        INSERT INTO audit_log (workspace_id, occurred_at, actor_kind, actor_id, action, method, path, status,
                               client_address, user_agent, request_id, target_ids, object_ids, summary)
        SELECT w, now() - interval '365 days' + (n * interval '365 days' / ${AUDIT_PER_WORKSPACE + 1}),
               'user', (${sql.array(people)}::uuid[])[1 + (n * 7919) % ${PEOPLE}],
               (ARRAY['deploymentsPut', 'flowRunsCreate', 'membersAdd', 'apiKeysCreate', 'automationsUpdate'])[1 + n % 5],
               (ARRAY['PUT', 'POST', 'POST', 'POST', 'PATCH'])[1 + n % 5], '/api/v1/bench/' || n,
               CASE WHEN n % 20 = 0 THEN 403 ELSE 200 END, '10.0.' || (n % 250) || '.' || (n % 200),
               'outpost-sdk/0.1 node/22', 'req-' || n,
               jsonb_build_object('deploymentId', md5(w::text || n)), ARRAY[md5(w::text || n)],
               jsonb_build_object('name', 'nightly-' || (n % 40))
        FROM unnest(${sql.array(batch)}::uuid[]) w, generate_series(${first}::int, ${last}::int) n
        ORDER BY n, w`;
    }
  }
  await sql`ANALYZE`;
  const auditToken = await createOrganisationToken(sql, server.workspaceId, 'siem', ['audit:read']);
  return { ...org, owner, workspaceIds, auditToken };
}

async function seedEmpty(server: TestServer): Promise<Org> {
  const workspace = await server.createWorkspace();
  const org = await organisationOfWorkspace(server, workspace.workspaceId);
  const owner = await ownerOf(server, workspace.workspaceId, workspace.ownerKey, 'owner@empty.example');
  const auditToken = await createOrganisationToken(server.sql, workspace.workspaceId, 'siem', ['audit:read']);
  return { ...org, owner, workspaceIds: [workspace.workspaceId], auditToken };
}

/** The four calls (and the variants with rows of their own) of one organisation. */
function calls(server: TestServer, org: Org) {
  const base = `/organisations/${org.slug}`;
  const get = (path: string) => () => org.owner.call('GET', path);
  const to = new Date().toISOString().slice(0, 7);
  const from = new Date();
  from.setUTCDate(1);
  from.setUTCMonth(from.getUTCMonth() - (MONTHS - 1));
  const since = new Date(Date.now() - 24 * 3600_000).toISOString();
  return {
    health: get(`${base}/health`),
    members: get(`${base}/members`),
    usage: get(`${base}/usage?from=${from.toISOString().slice(0, 7)}&to=${to}`),
    audit: get(`${base}/audit-log/export`),
    auditDay: get(`${base}/audit-log/export?since=${encodeURIComponent(since)}`),
    /** The export's first line: headers and the first chunk, then the answer is dropped. */
    auditFirstLine: async (): Promise<number> => {
      const controller = new AbortController();
      const started = performance.now();
      const res = await fetch(`${server.url}/api/v1${base}/audit-log/export`, {
        headers: { authorization: `Bearer ${org.auditToken}` },
        signal: controller.signal,
      });
      if (res.status !== 200) throw new Error(`audit export of ${org.slug}: ${res.status}`);
      const reader = res.body?.getReader();
      await reader?.read();
      const ms = performance.now() - started;
      controller.abort();
      await reader?.cancel().catch(() => undefined);
      return ms;
    },
    /** Every page of the people list with the largest page; the pages walked. */
    allMembers: async (): Promise<{ ms: number; pages: number; people: number }> => {
      const started = performance.now();
      let cursor: string | null = null;
      let pages = 0;
      let people = 0;
      do {
        const path: string = `${base}/members?limit=200${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
        const page = expectJson<{ items: unknown[]; nextCursor?: string | null }>(
          await org.owner.call('GET', path),
          200,
          `a page of ${org.slug}'s people`,
        );
        pages++;
        people += page.items.length;
        cursor = page.nextCursor ?? null;
      } while (cursor !== null);
      return { ms: performance.now() - started, pages, people };
    },
  };
}

type Calls = ReturnType<typeof calls>;

/**
 * `count` samples of a call on each organisation, empty then large, after one warm-up of each; fewer
 * (at least MIN_SAMPLES) when the pairs have taken SAMPLE_BUDGET_MS, so a call of many seconds
 * still leaves the module within its limit. The rows name how many were taken.
 */
async function alternate(
  large: () => Promise<number>,
  empty: () => Promise<number>,
  count: number,
): Promise<{ large: number[]; empty: number[] }> {
  await empty();
  await large();
  const out = { large: [] as number[], empty: [] as number[] };
  const until = performance.now() + SAMPLE_BUDGET_MS;
  for (let i = 0; i < count && (i < MIN_SAMPLES || performance.now() < until); i++) {
    out.empty.push(await empty());
    out.large.push(await large());
  }
  return out;
}

const ms = (what: string, call: () => Promise<Reply>) => async () => (await timed(what, call)).ms;

/** The tenant's runs list, one call after another 10 ms apart: at most `count`, until `stop()`. */
async function probe(server: TestServer, ownerKey: string, count: number, stop: () => boolean): Promise<number[]> {
  const times: number[] = [];
  const list = () => send(`${server.url}/api/v1/flow-runs?limit=50`, 'GET', { authorization: `Bearer ${ownerKey}` });
  while (times.length < count && !stop()) {
    times.push((await timed("the tenant's runs list", list)).ms);
    await pause(10);
  }
  return times;
}

async function otherTenant(server: TestServer, large: Calls) {
  const tenant = await tenantWithRuns(server, 'bench-organisation-scale');
  const idle = await probe(server, tenant, IDLE_PROBES, () => false);
  let calls = 0;
  let done = false;
  let failure: unknown = null;
  const until = performance.now() + BUSY_MS;
  const busy = (async () => {
    while (performance.now() < until) {
      for (const step of [large.health, large.members, large.usage, large.audit]) {
        await timed("the large organisation's call", step);
        calls++;
      }
    }
  })()
    .catch((error: unknown) => {
      failure = error;
    })
    .finally(() => {
      done = true;
    });
  const loaded = await probe(server, tenant, Number.POSITIVE_INFINITY, () => done);
  await busy;
  if (failure !== null) throw failure;
  return { idle, loaded, calls };
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer({ loops: false, validateResponses: false });
  try {
    const seedStarted = performance.now();
    const largeOrg = await seedLarge(server);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const emptyOrg = await seedEmpty(server);
    const large = calls(server, largeOrg);
    const empty = calls(server, emptyOrg);

    const firstPage = expectJson<{ items: unknown[]; nextCursor?: string | null }>(
      await large.members(),
      200,
      'the first page of the large organisation',
    );
    const paged = typeof firstPage.nextCursor === 'string';
    const [audited] = await server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = ANY(${server.sql.array(largeOrg.workspaceIds)}::uuid[])`;

    const health = await alternate(ms('health', large.health), ms('health', empty.health), SAMPLES);
    const members = await alternate(ms('members', large.members), ms('members', empty.members), SAMPLES);
    const usage = await alternate(ms('usage', large.usage), ms('usage', empty.usage), SAMPLES);
    const auditDay = await alternate(ms('audit export, last day', large.auditDay), ms('audit export', empty.auditDay), SAMPLES);
    const auditFirst = await alternate(large.auditFirstLine, empty.auditFirstLine, SAMPLES);
    const audit = await alternate(ms('audit export', large.audit), ms('audit export', empty.audit), LONG_SAMPLES);
    let walk: { large: number[]; empty: number[]; pages: number; people: number } | null = null;
    if (paged) {
      let pages = 0;
      let people = 0;
      const walked = await alternate(
        async () => {
          const w = await large.allMembers();
          pages = w.pages;
          people = w.people;
          return w.ms;
        },
        async () => (await empty.allMembers()).ms,
        LONG_SAMPLES,
      );
      walk = { ...walked, pages, people };
    }
    const tenant = await otherTenant(server, large);

    const emptyNote = 'the same call on an organisation of one owner and one workspace, same server and run, samples alternated';
    const p95 = (name: string, times: { large: number[]; empty: number[] }) =>
      row(`${name} (p95 of ${times.large.length})`, percentile(times.large, 95), 'ms', percentile(times.empty, 95), emptyNote);
    const p50 = (name: string, times: { large: number[]; empty: number[] }) =>
      row(`${name} (p50 of ${times.large.length})`, percentile(times.large, 50), 'ms', percentile(times.empty, 50), emptyNote);
    const bounds = `${PEOPLE.toLocaleString('en')} people, ${WORKSPACES} workspaces`;
    const idleNote = 'the same calls with both organisations idle, same server and run';
    const rows: Row[] = [
      p50(`organisation health, ${WORKSPACES} workspaces`, health),
      p95(`organisation health, ${WORKSPACES} workspaces`, health),
      p50(`organisation members, ${paged ? 'first page' : 'whole list (not paged)'}, ${bounds}`, members),
      p95(`organisation members, ${paged ? 'first page' : 'whole list (not paged)'}, ${bounds}`, members),
    ];
    if (walk) {
      rows.push(
        row(
          `organisation members, every page (limit=200: ${walk.pages} pages, ${walk.people.toLocaleString('en')} people) (p50 of ${walk.large.length})`,
          percentile(walk.large, 50),
          'ms',
          percentile(walk.empty, 50),
          emptyNote,
        ),
      );
    }
    rows.push(
      p50(
        `organisation usage, ${WORKSPACES} workspaces × ${MONTHS} months, ${PENDING_DELTAS.toLocaleString('en')} deltas pending`,
        usage,
      ),
      p95(`organisation usage, ${WORKSPACES} workspaces × ${MONTHS} months`, usage),
      p50(`organisation audit export, whole year (${(audited?.n ?? 0).toLocaleString('en')} entries)`, audit),
      p95('organisation audit export, whole year', audit),
      p50('organisation audit export, first line (time to first byte)', auditFirst),
      p95('organisation audit export, first line (time to first byte)', auditFirst),
      p50('organisation audit export, last day (since 24 h ago)', auditDay),
      p95('organisation audit export, last day (since 24 h ago)', auditDay),
      row(
        `another tenant's runs list, large organisation busy (p50; ${tenant.calls} calls of it)`,
        percentile(tenant.loaded, 50),
        'ms',
        percentile(tenant.idle, 50),
        idleNote,
      ),
      row(
        `another tenant's runs list, large organisation busy (p99; ${tenant.loaded.length} calls)`,
        percentile(tenant.loaded, 99),
        'ms',
        percentile(tenant.idle, 99),
        idleNote,
      ),
      row('seeding the large organisation (SQL)', seedSeconds, 's', null),
    );
    return rows;
  } finally {
    await server.close();
  }
}
