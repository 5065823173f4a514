import type { TestServer } from '@outpost/api/testing';
import { waitFor } from './row.js';

/** One custom event, stored as the events API stores one. */
export async function emit(server: TestServer, kind: string, payload: Record<string, unknown>): Promise<void> {
  await server.sql`
    INSERT INTO events (workspace_id, kind, resource_kind, resource_id, payload, source)
    VALUES (${server.workspaceId}, ${kind}, 'api-key', 'bench', ${server.sql.json(payload as never)}, 'api')`;
}

/** Sequential samples: store one event, wait for the run its automation creates. */
export async function measure(
  server: TestServer,
  kind: string,
  deploymentId: string,
  samples: number,
  /** The first sample's number: samples of the same deployment measured earlier took the ones before it. */
  first = 0,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = first; i < first + samples; i++) {
    const started = performance.now();
    await emit(server, kind, { i });
    await waitFor(
      `run ${i}`,
      async () => {
        const [r] = await server.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM flow_runs WHERE deployment_id = ${deploymentId} AND parameters->>'i' = ${String(i)}`;
        return r && r.n > 0 ? true : undefined;
      },
      30_000,
      2,
    );
    times.push(performance.now() - started);
  }
  return times;
}

export async function deployment(server: TestServer, name: string): Promise<string> {
  const res = await server.app.request('/api/v1/deployments', {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      flowName: 'bench-triggered',
      name,
      source: 'dir:///bench',
      entrypoint: 'flow.mjs',
      workPool: 'default',
    }),
  });
  if (res.status !== 200) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { deployment: { id: string } }).deployment.id;
}

export async function automation(server: TestServer, name: string, match: string, deploymentName: string): Promise<void> {
  await server.sql`
    INSERT INTO automations (workspace_id, name, trigger, actions)
    VALUES (${server.workspaceId}, ${name}, ${server.sql.json({ type: 'event', match } as never)},
            ${server.sql.json([{ type: 'run-deployment', deployment: `bench-triggered/${deploymentName}`, parameters: { i: '{{ event.payload.i }}' } }] as never)})`;
}
