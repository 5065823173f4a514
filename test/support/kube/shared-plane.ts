import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { type RunningControlPlane, startControlPlane } from './cluster.js';

/**
 * The `e2e-kube` project's global setup: one Kubernetes control plane for all its files, which run
 * one at a time. A control plane takes about 12 s to start and 3 s to stop on a 2-core machine; seven
 * files each paid that. It starts when the first file asks (startKubeCluster, over a loopback
 * address this provides), not when the run begins, so it does not idle beside the other projects'
 * files, and stops when the run ends. Each file gets a namespace of its own and clears the plane
 * after itself (cluster.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let plane: Promise<RunningControlPlane> | null = null;
  const secret = randomBytes(16).toString('hex');
  const server = createServer((request, response) => {
    request.resume();
    if (request.method !== 'POST' || request.url !== `/plane/${secret}`) {
      response.writeHead(404).end();
      return;
    }
    plane ??= startControlPlane();
    const starting = plane;
    starting.then(
      ({ server, token, stateDir }) => {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ server, token, stateDir }));
      },
      (error: unknown) => {
        // The next file tries again rather than inheriting this failure.
        if (plane === starting) plane = null;
        response.writeHead(500).end(error instanceof Error ? error.message : String(error));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  project.provide('kubeControlPlane', `http://127.0.0.1:${port}/plane/${secret}`);
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const started = await plane?.catch(() => null);
    await started?.stop();
  };
}
