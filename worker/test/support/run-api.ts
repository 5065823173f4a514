import type { TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { RouteName } from '@outpost/sdk/contracts';
import { startTestServer } from './api-testing.js';

const SOURCE = `oci://127.0.0.1:5000/acme/flows@sha256:${'a'.repeat(64)}`;

/** A real API with a worker key for the `default` pool and one deployment of `flowName` there (its code never runs). */
export interface RunApiServer {
  server: TestServer;
  owner: OutpostClient;
  workerKey: string;
  deploymentId: string;
  close(): Promise<void>;
}

export async function startRunApiServer(flowName: string): Promise<RunApiServer> {
  const server = await startTestServer();
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  const workerKey = await server.createKey('worker', ['default']);
  const { deployment } = unwrap(
    await owner.call('deploymentsUpsert', {
      body: { flowName, name: 'd', source: SOURCE, entrypoint: 'flows/x.js', workPool: 'default' },
    }),
  );
  return {
    server,
    owner,
    workerKey,
    deploymentId: deployment.id,
    close: async () => {
      await owner.close();
      await server.close();
    },
  };
}

/** `client`, recording the route of every call it (or a copy of it with another token) makes. */
export function recording(client: OutpostClient, routes: RouteName[]): OutpostClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'withToken') return (token: string) => recording(target.withToken(token), routes);
      if (property !== 'call') return Reflect.get(target, property, receiver);
      return (name: RouteName, ...rest: unknown[]) => {
        routes.push(name);
        return (target.call as (...args: unknown[]) => unknown)(name, ...rest);
      };
    },
  });
}
