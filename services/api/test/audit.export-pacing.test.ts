import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiError } from '../src/errors.js';
import { BulkReads } from '../src/http/bulk-reads.js';
import { createOrganisationToken, startTestServer, type TestServer } from '../src/testing/index.js';
import { eventually } from './helpers.js';

describe('places and pacing of long reads', () => {
  test("gives each owner at most its places and the server at most its total, and takes a place back once, however often it's given back", () => {
    const reads = new BulkReads({ perOwner: 2, total: 3, share: 0.5 });
    const a1 = reads.enter('org-a', 'an export');
    reads.enter('org-a', 'an export');
    let refused: unknown = null;
    try {
      reads.enter('org-a', 'an export');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    expect((refused as ApiError).message).toMatch(/^an export: this organisation already runs 2 at once/);
    expect((refused as ApiError).headers).toMatchObject({ 'retry-after': '10' });

    const b1 = reads.enter('org-b', 'an export');
    expect(() => reads.enter('org-c', 'an export')).toThrow(/the server runs 3 such reads at once/);
    expect(reads.running).toBe(3);

    a1.release();
    a1.release();
    expect(reads.running).toBe(2);
    reads.enter('org-a', 'an export');
    b1.release();
    reads.enter('org-c', 'an export');
    expect(reads.running).toBe(3);
  });

  test('rests after a slice so that the running reads together take their share of the time', () => {
    const reads = new BulkReads({ perOwner: 4, total: 4, share: 0.5 });
    const alone = reads.enter('org-a', 'an export');
    // Alone at a half share: rest as long as the slice took.
    expect(alone.worked(20)).toBeCloseTo(20);
    reads.enter('org-b', 'an export');
    reads.enter('org-c', 'an export');
    // Three at once: each works a sixth of the time, so the three together work half of it.
    expect(alone.worked(20)).toBeCloseTo(100);
    expect(() => new BulkReads({ share: 0 })).toThrow(/share in \(0, 1\]/);
  });
});

describe("the organisation's audit export under its places", () => {
  let server: TestServer;
  let org: string;
  let token: string;
  let other: { org: string; token: string };

  async function organisationOf(workspaceId: string): Promise<string> {
    const [row] = await server.sql<{ slug: string }[]>`
      SELECT o.slug FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${workspaceId}`;
    if (!row) throw new Error('no organisation');
    return row.slug;
  }

  const exportOf = (slug: string, key: string, signal?: AbortSignal) =>
    fetch(`${server.url}/api/v1/organisations/${slug}/audit-log/export`, {
      headers: { authorization: `Bearer ${key}` },
      signal,
    });

  beforeAll(async () => {
    // A share so small that an export rests for many seconds after its first page: it holds its place
    // while this suite asks for more.
    server = await startTestServer({ bulkReads: { perOwner: 2, total: 16, share: 0.0001 } });
    org = await organisationOf(server.workspaceId);
    token = await createOrganisationToken(server.sql, server.workspaceId, 'siem', ['audit:read']);
    // More entries than one page of the answer (500), so an export has a second page to rest before.
    await server.sql`
      INSERT INTO audit_log (workspace_id, actor_kind, action, method, path, status)
      SELECT ${server.workspaceId}, 'api_key', 'paced', 'POST', '/api/v1/paced/' || n, 200 FROM generate_series(1, 1200) n`;
    const elsewhere = await server.createWorkspace();
    await server.sql`
      INSERT INTO audit_log (workspace_id, actor_kind, action, method, path, status)
      SELECT ${elsewhere.workspaceId}, 'api_key', 'elsewhere', 'POST', '/api/v1/elsewhere/' || n, 200 FROM generate_series(1, 3) n`;
    other = {
      org: await organisationOf(elsewhere.workspaceId),
      token: await createOrganisationToken(server.sql, elsewhere.workspaceId, 'siem', ['audit:read']),
    };
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  test('refuses a third export of one organisation while two run, with Retry-After, serves another organisation meanwhile, and takes a new one once a reader goes away', async () => {
    const first = new AbortController();
    const second = new AbortController();
    const running = [await exportOf(org, token, first.signal), await exportOf(org, token, second.signal)];
    for (const res of running) {
      expect(res.status).toBe(200);
      // The first page arrives at once; the rest waits out the export's pace.
      const { value } = (await res.body?.getReader().read()) ?? {};
      expect(new TextDecoder().decode(value).split('\n')[0]).toContain('"workspaceId"');
    }

    const third = await exportOf(org, token);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('10');
    const problem = (await third.json()) as { detail: string };
    expect(problem.detail).toMatch(/this organisation already runs 2 at once, the most it may; wait for one to end/);

    const elsewhere = await exportOf(other.org, other.token);
    expect(elsewhere.status).toBe(200);
    const lines = (await elsewhere.text()).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { action: string }).action)).toEqual(['elsewhere', 'elsewhere', 'elsewhere']);

    // A reader that goes away gives its place back: the next export is taken.
    first.abort();
    const next = await eventually(
      async () => {
        const res = await exportOf(org, token, second.signal);
        if (res.status !== 429) return res;
        await res.body?.cancel();
        return undefined;
      },
      15_000,
      'a place given back by the export whose reader went away',
    );
    expect(next.status).toBe(200);
    second.abort();
  });
});
