import { createHmac } from 'node:crypto';
import { createOrganisationToken, startTestServer, type TestServer } from '@outpost/api/testing';
import { SCIM_FILTER_TERMS_MAX, SCIM_GROUP_MEMBERS_MAX, SCIM_PATCH_OPERATIONS_MAX, SCIM_SCHEMAS } from '@outpost/sdk/contracts';
import { pause, percentile, type Row, row } from './support/row.js';

/**
 * What one workspace's costly CEL costs another: a viewer of the victim workspace makes a cheap
 * authenticated call (`GET /flow-runs?limit=1`) over HTTP, one after another; its latency is
 * measured while nothing else happens (the baseline), and while another workspace keeps four
 * senders delivering to a webhook whose template is quadratic in the body (5,000 items: each
 * evaluation runs into the sandbox's deadline) and stores events that a quadratic automation
 * trigger reads. Then the same while another organisation's directory sends SCIM PATCHes at their
 * bounds against a group at its size limit. Same server, same database, same run.
 */
export const timeoutSeconds = 240;

export const notes = `### noisy-neighbour: a victim's cheap call while another workspace runs costly CEL
Every evaluation of a tenant's CEL runs in the sandbox's thread pool under its deadline (50 ms), so
the attacker's deliveries and events cost the victim a share of the CPU, not the event loop. The
baseline is the same call on the same server with no attacker.
The SCIM rows: another organisation's directory token sends, one after another, a PATCH of
${SCIM_PATCH_OPERATIONS_MAX.toLocaleString('en')} removals, each a filter of ${SCIM_FILTER_TERMS_MAX} \`value eq\` comparisons (4 members named, within
the 1,000-character path), against a group of ${SCIM_GROUP_MEMBERS_MAX.toLocaleString('en')} members, then a PATCH adding the 4,000
back (the finding: 1,000 such operations against 2,000 people held the event loop for 2 s and took
another organisation's reader from a p99 of 58 ms to 2,127 ms). The work is applied in slices that
yield to the event loop (services/api/src/identity/scim/patch.ts).`;

const SAMPLES = 300;
const SENDERS = 4;
const QUADRATIC = (list: string) => `${list}.all(x, ${list}.all(y, x + y >= 0))`;
const ITEMS = Array.from({ length: 5000 }, (_, i) => i % 10);

async function call(server: TestServer, key: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Another organisation's directory: a token, and a group of SCIM_GROUP_MEMBERS_MAX people seeded with SQL. */
async function directoryAttacker(server: TestServer) {
  const { workspaceId } = await server.createWorkspace();
  const token = await createOrganisationToken(server.sql, workspaceId, 'directory', ['scim']);
  const [org] = await server.sql<{ id: string; slug: string }[]>`
    SELECT o.id, o.slug FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${workspaceId}`;
  if (!org) throw new Error('no organisation for the directory');
  const people = (
    await server.sql<{ id: string }[]>`
      WITH made AS (
        INSERT INTO users (email) SELECT 'bench-crowd-' || i || '@example.com' FROM generate_series(1, ${SCIM_GROUP_MEMBERS_MAX}) i
        RETURNING id, email)
      INSERT INTO directory_users (organisation_id, user_id, user_name) SELECT ${org.id}, id, email FROM made
      RETURNING user_id AS id`
  ).map((r) => r.id);
  const base = `${server.url}/api/v1/organisations/${org.slug}/scim/v2`;
  const send = async (method: string, path: string, body: string) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body,
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`SCIM ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text;
  };
  const made = JSON.parse(
    await send(
      'POST',
      '/Groups',
      JSON.stringify({ schemas: [SCIM_SCHEMAS.group], displayName: 'Everyone', members: people.map((value) => ({ value })) }),
    ),
  ) as { id: string };
  const named = 4;
  const patch = (operations: unknown[]) => JSON.stringify({ schemas: [SCIM_SCHEMAS.patchOp], Operations: operations });
  const removals = patch(
    Array.from({ length: SCIM_PATCH_OPERATIONS_MAX }, (_, i) => {
      const terms = [
        ...people.slice(i * named, (i + 1) * named).map((id) => `value eq "${id}"`),
        ...Array.from({ length: SCIM_FILTER_TERMS_MAX - named }, (_, j) => `value eq "${j}"`),
      ];
      return { op: 'remove', path: `members[${terms.join(' or ')}]` };
    }),
  );
  const readd = patch([
    { op: 'add', path: 'members', value: people.slice(0, SCIM_PATCH_OPERATIONS_MAX * named).map((value) => ({ value })) },
  ]);
  return {
    /** One cycle: the removals at the bounds, then the members added back. */
    cycle: async () => {
      await send('PATCH', `/Groups/${made.id}`, removals);
      await send('PATCH', `/Groups/${made.id}`, readd);
    },
  };
}

async function probe(server: TestServer, key: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    const res = await call(server, key, 'GET', '/flow-runs?limit=1');
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`the victim's call answered ${res.status}`);
    times.push(performance.now() - started);
    await pause(10);
  }
  return times;
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer();
  try {
    const viewer = await server.createKey('viewer');
    const attacker = await server.createWorkspace();
    const hookRes = await call(server, attacker.ownerKey, 'POST', '/event-webhooks', {
      name: 'slow',
      template: { kind: 'bench.slow', payload: { n: `{{ ${QUADRATIC('body.items')} }}` } },
    });
    if (hookRes.status !== 201) throw new Error(`webhook: ${hookRes.status} ${await hookRes.text()}`);
    const hook = (await hookRes.json()) as { path: string; secret: string };
    const automation = await call(server, attacker.ownerKey, 'POST', '/automations', {
      name: 'slow',
      trigger: { type: 'event', match: `event.kind == "bench.big" && ${QUADRATIC('event.payload.items')}` },
      actions: [{ type: 'pause-pool', pool: 'default' }],
    });
    if (automation.status !== 201) throw new Error(`automation: ${automation.status} ${await automation.text()}`);
    const automationId = ((await automation.json()) as { id: string }).id;

    const baseline = await probe(server, viewer);

    const body = JSON.stringify({ items: ITEMS });
    const signature = `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`;
    let attacking = true;
    let deliveries = 0;
    const senders = Array.from({ length: SENDERS }, async () => {
      while (attacking) {
        const res = await fetch(`${server.url}${hook.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-outpost-signature': signature },
          body,
        });
        await res.arrayBuffer();
        deliveries++;
      }
    });
    const emitter = (async () => {
      while (attacking) {
        const res = await call(server, attacker.ownerKey, 'POST', '/events', {
          events: [{ kind: 'bench.big', payload: { items: ITEMS } }],
        });
        await res.arrayBuffer();
        // Enabled again whenever its overruns turned it off, so the loop keeps evaluating it.
        await (await call(server, attacker.ownerKey, 'POST', `/automations/${automationId}/enable`)).arrayBuffer();
        await pause(50);
      }
    })();
    const attacked = await probe(server, viewer);
    attacking = false;
    await Promise.all([...senders, emitter]);

    const directory = await directoryAttacker(server);
    let patching = true;
    let cycles = 0;
    const patcher = (async () => {
      while (patching) {
        await directory.cycle();
        cycles++;
      }
    })();
    const duringScim = await probe(server, viewer).finally(() => {
      patching = false;
    });
    await patcher;

    return [
      row(
        `victim's cheap call while another workspace runs costly CEL (p50; ${deliveries} deliveries)`,
        percentile(attacked, 50),
        'ms',
        percentile(baseline, 50),
        'the same call with no attacker, same server and run',
      ),
      row(
        "victim's cheap call while another workspace runs costly CEL (p99)",
        percentile(attacked, 99),
        'ms',
        percentile(baseline, 99),
        'the same call with no attacker, same server and run',
      ),
      row(
        `victim's cheap call while another organisation's directory sends SCIM PATCHes at the bounds against a ${SCIM_GROUP_MEMBERS_MAX.toLocaleString('en')}-member group (p50; ${cycles * 2} PATCHes)`,
        percentile(duringScim, 50),
        'ms',
        percentile(baseline, 50),
        'the same call with no attacker, same server and run',
      ),
      row(
        "victim's cheap call while another organisation's directory sends SCIM PATCHes at the bounds (p99)",
        percentile(duringScim, 99),
        'ms',
        percentile(baseline, 99),
        'the same call with no attacker, same server and run',
      ),
    ];
  } finally {
    await server.close();
  }
}
