import { createOrganisationToken, startTestServer } from '@outpost/api/testing';
import { AuditChainVerifier } from '@outpost/sdk/audit-chain';
import type { AuditEntry } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import { growWorkspaces, organisationOfWorkspace } from './support/directory-setup.js';
import { type Row, row } from './support/row.js';

/**
 * What the audit hash chain costs. Writes: audited entries through the chain's trigger, with every
 * writer in one workspace (they queue on its head) and with each in its own, against the same
 * inserts with the chain's trigger switched off. Reads: an organisation's export of 100 workspaces
 * (merged a page per workspace at a time) against one workspace's export of as many entries, and
 * the SDK's verification of those entries against parsing them alone.
 */
export const timeoutSeconds = 300;

export const notes = `### audit-chain: the hash chain's cost to audited writes, the organisation export and verification
Writes: ${'`'}audit_log${'`'} inserts by 16 concurrent writers, each its own transaction (a commit each); the baseline is the same inserts with the chain's trigger
switched off (places supplied by the writer), same run. The chain serialises one workspace's entries (its head row
is held until the entry commits); entries of different workspaces do not wait on each other. Reads: the organisation
export of 100 workspaces × 300 entries, against the workspace export of 30,000 entries in one workspace.
Verification: the SDK's AuditChainVerifier over the same 30,000 lines, against JSON.parse of them alone.`;

const WRITERS = 16;
const WRITES = Number(process.env.BENCH_AUDIT_WRITES ?? 2_000);
const WORKSPACES = 100;
const PER_WORKSPACE = Number(process.env.BENCH_AUDIT_PER_WORKSPACE ?? 300);

/** The places the baseline wrote last, by workspace, past any the chain holds. */
const baselineSeqs = new Map<string, number>();

async function insertRate(sql: postgres.Sql, workspaceOf: (writer: number) => string, chained: boolean): Promise<number> {
  let next = 0;
  const seqs = baselineSeqs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      const workspaceId = workspaceOf(writer);
      while (next < WRITES) {
        next += 1;
        if (chained) {
          await sql`
            INSERT INTO audit_log (workspace_id, actor_kind, action, method, path, status, summary)
            VALUES (${workspaceId}, 'api_key', 'benchWrite', 'POST', '/bench', 201, ${sql.json({ fields: ['name'], values: { name: `w${next}` } })})`;
        } else {
          // The baseline writes its own places, past any the chain holds, in a range of its own.
          const seq = (seqs.get(workspaceId) ?? 1_000_000_000) + 1;
          seqs.set(workspaceId, seq);
          await sql`
            INSERT INTO audit_log (workspace_id, actor_kind, action, method, path, status, summary, chain_seq, chain_prev, chain_hash)
            VALUES (${workspaceId}, 'api_key', 'benchWrite', 'POST', '/bench', 201, ${sql.json({ fields: ['name'], values: { name: `w${next}` } })},
                    ${seq}, ${'0'.repeat(64)}, ${'0'.repeat(64)})`;
        }
      }
    }),
  );
  return WRITES / ((performance.now() - started) / 1000);
}

async function exportRate(url: string, token: string): Promise<{ perSecond: number; lines: string[] }> {
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  const lines = (await res.text()).trimEnd().split('\n');
  return { perSecond: lines.length / ((performance.now() - started) / 1000), lines };
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer({ loops: false });
  const sql = server.sql;
  try {
    const org = await organisationOfWorkspace(server, server.workspaceId);
    const workspaces = await growWorkspaces(server, org, 'bench', WORKSPACES - 1);

    // Writes, the baseline first, with the chain's trigger off (for the table: nothing else writes meanwhile).
    const writers = workspaces.slice(1, 1 + WRITERS);
    const oneWorkspace = () => writers[0] as string;
    const ownWorkspace = (writer: number) => writers[writer] as string;
    await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain`;
    let plainOne: number;
    let plainOwn: number;
    try {
      plainOne = await insertRate(sql, oneWorkspace, false);
      plainOwn = await insertRate(sql, ownWorkspace, false);
    } finally {
      await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_chain`;
    }
    const chainedOne = await insertRate(sql, oneWorkspace, true);
    const chainedOwn = await insertRate(sql, ownWorkspace, true);

    // Reads: entries in each of the 100 workspaces, and as many in one more workspace of its own.
    await sql`
      INSERT INTO audit_log (workspace_id, actor_kind, action, method, path, status, summary)
      SELECT w, 'api_key', 'benchRead', 'POST', '/bench', 200, jsonb_build_object('n', n)
      FROM unnest(${sql.array(workspaces)}::uuid[]) w, generate_series(1, ${PER_WORKSPACE}) n`;
    const single = await server.createWorkspace();
    await sql`
      INSERT INTO audit_log (workspace_id, actor_kind, action, method, path, status, summary)
      SELECT ${single.workspaceId}, 'api_key', 'benchRead', 'POST', '/bench', 200, jsonb_build_object('n', n)
      FROM generate_series(1, ${WORKSPACES * PER_WORKSPACE}) n`;
    const token = await createOrganisationToken(sql, server.workspaceId, 'bench');
    const organisation = await exportRate(
      `${server.url}/api/v1/organisations/${org.slug}/audit-log/export?action=benchRead`,
      token,
    );
    const workspace = await exportRate(`${server.url}/api/v1/audit-log/export?action=benchRead`, single.ownerKey);
    if (organisation.lines.length !== WORKSPACES * PER_WORKSPACE)
      throw new Error(`the organisation export held ${organisation.lines.length} lines`);

    const parseStarted = performance.now();
    for (const line of organisation.lines) JSON.parse(line);
    const parsePerSecond = organisation.lines.length / ((performance.now() - parseStarted) / 1000);
    const verifyStarted = performance.now();
    const verifier = new AuditChainVerifier({ complete: false });
    for (const line of organisation.lines) verifier.add(JSON.parse(line) as AuditEntry);
    const problems = verifier.finish().flatMap((r) => r.problems);
    const verifyPerSecond = organisation.lines.length / ((performance.now() - verifyStarted) / 1000);
    if (problems.length > 0) throw new Error(`the bench's chain does not hold: ${problems[0]}`);

    const writeNote = 'the same inserts with the chain trigger off, same run';
    return [
      row('audited writes, 16 writers in one workspace (chained)', chainedOne, 'entries/s', plainOne, writeNote),
      row('audited writes, 16 writers in 16 workspaces (chained)', chainedOwn, 'entries/s', plainOwn, writeNote),
      row(
        `organisation audit export, ${WORKSPACES} workspaces × ${PER_WORKSPACE.toLocaleString('en')} entries`,
        organisation.perSecond,
        'entries/s',
        workspace.perSecond,
        `the export of ${(WORKSPACES * PER_WORKSPACE).toLocaleString('en')} entries of one workspace, same run`,
      ),
      row('audit chain verification (SDK)', verifyPerSecond, 'entries/s', parsePerSecond, 'JSON.parse of the same lines alone'),
    ];
  } finally {
    await server.close();
  }
}
