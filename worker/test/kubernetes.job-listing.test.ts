import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { JobListingError, listOwnJobs, NamespaceRecord } from '../src/executors/kubernetes/adoption.js';
import { capturedLogger } from './support/test-worker.js';

/*
 * Listing a worker's Jobs for adoption against a real HTTP server that answers as a kube-apiserver
 * would (a JobList, or a Status with 500 or 403). The retried listing against a real kube-apiserver
 * is in test/e2e/kubernetes.adoption.test.ts.
 */

const SELECTOR = 'outpost.dev/pool=kube,outpost.dev/worker=w-0';
const QUICK = { backoff: { baseMs: 20, maxMs: 80 }, boundMs: 400 };

type Answer = { status: number; body: unknown };

function status(code: number, message: string): Answer {
  return { status: code, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code } };
}

function jobList(namespace: string, names: string[]): Answer {
  return {
    status: 200,
    body: {
      kind: 'JobList',
      apiVersion: 'batch/v1',
      metadata: { resourceVersion: '1' },
      items: names.map((name) => ({ metadata: { name, namespace, labels: { 'outpost.dev/pool': 'kube' } } })),
    },
  };
}

describe("listing a worker's Jobs to adopt them", () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A real HTTP server answering each namespace's Job list with `answer(namespace, nth)`; the requests it saw. */
  async function apiServer(answer: (namespace: string, nth: number) => Answer) {
    const seen: { namespace: string; selector: string | null }[] = [];
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const match = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/.exec(url.pathname);
      if (!match?.[1] || req.method !== 'GET') {
        res.writeHead(404).end();
        return;
      }
      const namespace = match[1];
      seen.push({ namespace, selector: url.searchParams.get('labelSelector') });
      const { status: code, body } = answer(namespace, seen.filter((s) => s.namespace === namespace).length);
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'token-for-tests' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return { batch: config.makeApiClient(BatchV1Api), seen };
  }

  it('retries a failing listing and returns the Jobs of every namespace with their namespace, warning once', async () => {
    const api = await apiServer((namespace, nth) =>
      namespace === 'ml-team' && nth <= 2
        ? status(500, 'etcdserver: request timed out')
        : jobList(namespace, [`job-in-${namespace}`]),
    );
    const { logger, lines } = capturedLogger<{ level: number; msg: string; namespace?: string }>();
    const jobs = await listOwnJobs(api, ['runs', 'ml-team'], SELECTOR, logger, QUICK);
    expect(jobs.map((j) => `${j.metadata?.namespace}/${j.metadata?.name}`)).toEqual([
      'runs/job-in-runs',
      'ml-team/job-in-ml-team',
    ]);
    expect(api.seen).toEqual([
      { namespace: 'runs', selector: SELECTOR },
      { namespace: 'ml-team', selector: SELECTOR },
      { namespace: 'ml-team', selector: SELECTOR },
      { namespace: 'ml-team', selector: SELECTOR },
    ]);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.msg)).toEqual([
      "could not list this worker's Jobs in namespace ml-team (HTTP 500: etcdserver: request timed out); retrying for up to 0.4 s before giving up",
    ]);
    expect(lines.some((l) => l.msg === "listed this worker's Jobs in namespace ml-team")).toBe(true);
  });

  it('gives up after its bound with an error naming the namespace, rather than answering that there are no Jobs', async () => {
    const api = await apiServer(() => status(503, 'the server is currently unable to handle the request'));
    const { logger, lines } = capturedLogger<{ level: number; msg: string; namespace?: string }>();
    const started = Date.now();
    const listing = listOwnJobs(api, ['runs'], SELECTOR, logger, QUICK);
    await expect(listing).rejects.toBeInstanceOf(JobListingError);
    await expect(listing).rejects.toThrow(/namespace runs .*HTTP 503: the server is currently unable/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(QUICK.boundMs);
    expect(api.seen.length).toBeGreaterThanOrEqual(3);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
  });

  it('skips a namespace it may not list (403) with a warning, and lists the others', async () => {
    const api = await apiServer((namespace) =>
      namespace === 'locked' ? status(403, 'jobs.batch is forbidden') : jobList(namespace, ['j']),
    );
    const { logger, lines } = capturedLogger<{ level: number; msg: string; namespace?: string }>();
    const jobs = await listOwnJobs(api, ['locked', 'runs'], SELECTOR, logger, QUICK);
    expect(jobs.map((j) => j.metadata?.namespace)).toEqual(['runs']);
    expect(api.seen.filter((s) => s.namespace === 'locked')).toHaveLength(1);
    expect(lines.filter((l) => l.level === 40).map((l) => l.namespace)).toEqual(['locked']);
  });
});

describe('the namespaces a worker recorded creating Jobs in', () => {
  it('are written once each and read back by a restarted worker, ignoring lines that are no namespace name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-namespaces-'));
    try {
      const path = join(dir, 'spool', 'kubernetes-namespaces');
      const logger = pino({ level: 'silent' });
      const first = new NamespaceRecord(path, logger);
      expect(first.read()).toEqual([]);
      for (const namespace of ['runs', 'ml-team', 'runs', 'ml-team']) first.add(namespace);
      expect(readFileSync(path, 'utf8')).toBe('runs\nml-team\n');
      // A torn last write and a stray line are skipped.
      writeFileSync(path, 'runs\nml-team\nNot A Namespace\nvis', { flag: 'w' });
      const restarted = new NamespaceRecord(path, logger);
      expect(restarted.read()).toEqual(['runs', 'ml-team', 'vis']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
