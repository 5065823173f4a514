import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Sql } from '../src/db/client.js';
import { openApiDocument } from '../src/http/openapi.js';
import { isScimPath } from '../src/http/scim-errors.js';
import { createOrganisationToken, type TestWorkspace } from '../src/testing/index.js';
import {
  mutateBody,
  PATH_GARBAGE,
  privilegedFields,
  prng,
  QUERY_GARBAGE,
  RAW_BODIES,
  Random,
  type Schema,
  SENTINEL,
  sample,
  toJson,
} from './fuzz.support.js';
import { organisationOf, useServer } from './helpers.js';
import { tally } from './security.tally.js';

/*
 * Drives every operation of the API's own OpenAPI document with at least 500 malformed requests
 * each, from a seeded PRNG (OUTPOST_FUZZ_SEED reproduces a run). No answer may be a 5xx or carry a
 * stack trace or a server file path; a privileged field injected into a strict object is never
 * accepted; and afterwards no sentinel value is stored anywhere and the other workspace is untouched.
 */

const CASES_PER_OPERATION = 500;
const SEED = Number(process.env.OUTPOST_FUZZ_SEED ?? 20_261_121);
const STACK = /\bat [\w$.<>]+ \(|\bat (?:async )?[\w$.]+ \(?(?:file:|\/)|\.(?:ts|js|mjs):\d+:\d+|node_modules|\/work\//;

interface Operation {
  id: string;
  method: string;
  path: string;
  access: { roles: string[]; anonymous?: boolean; organisationTokenOnly?: boolean };
  pathParams: string[];
  querySchemas: Record<string, Schema>;
  body: Schema | null;
  /** A route of the directory (SCIM): its errors are SCIM's own document, not a problem. */
  scim: boolean;
}

type Document = { paths: Record<string, Record<string, Record<string, unknown>>>; components: Schema };

/** Every operation of a document, with what a case needs to build a request for it. */
function operationsOf(doc: Document): Operation[] {
  const found: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? []) as { name: string; in: string; schema: Schema }[];
      const content = (op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content;
      found.push({
        id: String(op.operationId),
        method: method.toUpperCase(),
        path,
        access: op['x-outpost-access'] as Operation['access'],
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        querySchemas: Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, p.schema])),
        body: content?.['application/json']?.schema ?? null,
        scim: Boolean(
          (op.responses as Record<string, { content?: Record<string, unknown> }>).default?.content?.['application/scim+json'],
        ),
      });
    }
  }
  return found;
}

// The operations are read from the document's generator when the file is collected, so each is a
// test of its own (named, and timed on its own); the first test proves the served document is this one.
const document = openApiDocument() as unknown as Document;
const operations = operationsOf(document);
// Shared schemas (a JSON value) are referenced from the document's components.
const components: Schema = document.components;

let other: TestWorkspace;
let workerKey: string;
/** The directory's routes are driven with an organisation token of the default workspace's organisation, on its path. */
let scimToken: string;
let organisation: string;

const api = useServer();

beforeAll(async () => {
  other = await api.server.createWorkspace();
  workerKey = await api.server.createKey('worker');
  scimToken = await createOrganisationToken(api.server.sql, api.server.workspaceId, 'fuzzed directory', ['scim']);
  organisation = (await organisationOf(api.server, api.server.workspaceId)).slug;
});

const DEFAULT_PARAMS: Record<string, string> = { pool: 'default', queue: 'default', flow: 'f', name: 'd', tag: 't', slug: 's' };

function credentialFor(op: Operation): string | null {
  if (op.access.anonymous) return null;
  if (op.access.organisationTokenOnly) return scimToken;
  return op.access.roles.includes('owner') ? api.server.ownerKey : workerKey;
}

interface Case {
  path: string;
  query: string;
  body?: string;
  contentType?: string;
  injected: boolean;
  what: string;
}

function buildCase(op: Operation, r: Random): Case {
  const params = Object.fromEntries(
    op.pathParams.map((p) => [
      p,
      op.access.organisationTokenOnly && p === 'org' ? organisation : (DEFAULT_PARAMS[p] ?? randomUUID()),
    ]),
  );
  const hasBody = op.body !== null;
  const kinds = [
    ...(hasBody ? ['body', 'body', 'body', 'body', 'raw'] : []),
    ...(op.pathParams.length ? ['path'] : []),
    'query',
    ...(op.method !== 'GET' && !hasBody ? ['raw'] : []),
  ];
  const kind = r.pick(kinds);
  let what = kind;
  let injected = false;
  let query = '';
  let body: string | undefined;
  let contentType: string | undefined;
  if (kind === 'path') {
    const name = r.pick(op.pathParams);
    params[name] = r.pick(PATH_GARBAGE);
    what = `path ${name}=${String(params[name]).slice(0, 30)}`;
  }
  if (kind === 'query' || r.chance(0.1)) {
    const parts = Array.from({ length: 1 + r.int(3) }, () => r.pick(QUERY_GARBAGE));
    query = `?${parts.join('&')}`;
    what += ` query ${query.slice(0, 40)}`;
  }
  if (kind === 'body' && op.body) {
    const root = { ...op.body, components };
    const base = sample(op.body, root);
    const mutated = mutateBody(r, base, op.body, root, privilegedFields(other.workspaceId));
    body = toJson(mutated.body);
    contentType = 'application/json';
    injected = mutated.injected;
    what = mutated.what;
  } else if (kind === 'raw') {
    const raw = r.pick(RAW_BODIES);
    body = raw.body;
    contentType = raw.type;
    what = `raw ${raw.type} ${raw.body.slice(0, 20)}`;
  } else if (hasBody) {
    body = JSON.stringify(sample(op.body as Schema, { ...(op.body as Schema), components }));
    contentType = 'application/json';
  }
  const path = op.path.replace(/\{([A-Za-z]+)\}/g, (_, k: string) => {
    const value = String(params[k]);
    // Garbage is sent as written (already encoded where it must be); ordinary values are encoded.
    return PATH_GARBAGE.includes(value) ? value : encodeURIComponent(value);
  });
  return { path, query, body, contentType, injected, what };
}

async function send(op: Operation, c: Case): Promise<{ status: number; text: string; type: string }> {
  const headers: Record<string, string> = {};
  const credential = credentialFor(op);
  if (credential) headers.authorization = `Bearer ${credential}`;
  if (c.contentType) headers['content-type'] = c.contentType;
  const abort = new AbortController();
  const res = await api.server.app.request(`${c.path}${c.query}`, {
    method: op.method,
    headers,
    body: op.method === 'GET' ? undefined : c.body,
    signal: abort.signal,
  });
  const type = res.headers.get('content-type') ?? '';
  // A stream is not waited for (an event stream never ends; an export that answered 200 is the
  // workspace's whole log, not an error document), and the reference page's script (third-party code,
  // full of file names) is not scanned for error output.
  const stream = type.startsWith('text/event-stream') || (res.status < 300 && type.startsWith('application/x-ndjson'));
  if (stream || (res.status < 300 && type.startsWith('text/javascript'))) {
    abort.abort();
    await res.body?.cancel().catch(() => {});
    return { status: res.status, text: '', type };
  }
  return { status: res.status, text: await res.text(), type };
}

async function sentinelRows(sql: Sql): Promise<string[]> {
  const tables = await sql<{ table_name: string }[]>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
  const found: string[] = [];
  const needles = [SENTINEL.uuid, SENTINEL.name, SENTINEL.hash, SENTINEL.time.slice(0, 10)];
  // The attempt's digits are also hex digits: random ids and hashes contain them by chance, so only a
  // whole number counts.
  const attempt = new RegExp(`(?<![\\w.-])${SENTINEL.attempt}(?![\\w.-])`);
  for (const { table_name } of tables) {
    const rows = await sql<{ row: string }[]>`SELECT row_to_json(t)::text AS row FROM ${sql(table_name)} t`;
    for (const { row } of rows) {
      if (needles.some((n) => row.includes(n)) || attempt.test(row)) found.push(`${table_name}: ${row.slice(0, 200)}`);
    }
  }
  return found;
}

describe('fuzzing every operation of the OpenAPI document', () => {
  test('the document served lists every route of the table, and is the one the cases are built from', async () => {
    const res = await api.server.app.request('/api/v1/openapi.json', {
      headers: { authorization: `Bearer ${api.server.ownerKey}` },
    });
    expect(res.status).toBe(200);
    const served = (await res.json()) as Document;
    expect(operationsOf(served)).toEqual(operations);
    expect(served.components).toEqual(components);
    expect(operations.length).toBeGreaterThanOrEqual(60);
  });

  const fuzzed = tally('malformed requests sent (none answered 5xx)');

  for (const op of operations) {
    test(`${op.method} ${op.path} (${op.id}) answers ${CASES_PER_OPERATION} malformed requests without a 5xx or a stack trace`, {
      timeout: 120_000,
    }, async () => {
      const failures: string[] = [];
      const r = new Random(prng(SEED ^ hash(op.id)));
      for (let i = 0; i < CASES_PER_OPERATION && failures.length <= 20; i++) {
        const c = buildCase(op, r);
        const res = await send(op, c);
        fuzzed.add();
        const label = `#${i} (${c.what})`;
        if (res.status >= 500) failures.push(`${label}: ${res.status} ${res.text.slice(0, 300)}`);
        if (STACK.test(res.text)) failures.push(`${label}: stack trace or file path in ${res.text.slice(0, 300)}`);
        if (c.injected && res.status < 400) failures.push(`${label}: a privileged field was accepted (${res.status})`);
        // A directory's path answers SCIM's error document; garbage that leaves it (`..`) reaches no SCIM route.
        const scim = op.scim && isScimPath(new URL(c.path, 'http://fuzz').pathname);
        const errorType = scim ? 'application/scim+json' : 'application/problem+json';
        if (res.status >= 400 && res.text && !res.type.includes(errorType)) {
          failures.push(`${label}: ${res.status} without a problem document (${res.type})`);
        }
      }
      expect(failures).toEqual([]);
    });
  }

  test('nothing a request named as privileged was stored, and the other workspace is untouched', async () => {
    expect(await sentinelRows(api.server.sql)).toEqual([]);
    const [row] = await api.server.sql<{ n: number }[]>`
      SELECT ((SELECT count(*) FROM flow_runs WHERE workspace_id = ${other.workspaceId})
           + (SELECT count(*) FROM deployments WHERE workspace_id = ${other.workspaceId})
           + (SELECT count(*) FROM audit_log WHERE workspace_id = ${other.workspaceId})
           + (SELECT count(*) FROM memberships WHERE workspace_id = ${other.workspaceId})
           + (SELECT count(*) FROM api_keys WHERE workspace_id = ${other.workspaceId} AND name <> 'owner'))::int AS n`;
    expect(row?.n).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
