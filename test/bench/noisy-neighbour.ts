import { createHmac } from 'node:crypto';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { pause, percentile, type Row, row } from './support/row.js';

/**
 * What one workspace's costly CEL costs another: a viewer of the victim workspace makes a cheap
 * authenticated call (`GET /flow-runs?limit=1`) over HTTP, one after another; its latency is
 * measured while nothing else happens (the baseline), and while another workspace keeps four
 * senders delivering to a webhook whose template is quadratic in the body (5,000 items: each
 * evaluation runs into the sandbox's deadline) and stores events that a quadratic automation
 * trigger reads. Same server, same database, same run.
 */
export const timeoutSeconds = 240;

export const notes = `### noisy-neighbour: a victim's cheap call while another workspace runs costly CEL
Every evaluation of a tenant's CEL runs in the sandbox's thread pool under its deadline (50 ms), so
the attacker's deliveries and events cost the victim a share of the CPU, not the event loop. The
baseline is the same call on the same server with no attacker.`;

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
    ];
  } finally {
    await server.close();
  }
}
