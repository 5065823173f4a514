import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * The "external system" of the deferred-jobs suite and benchmark (test/e2e/fixtures/deferred-flows):
 * a loopback server with a job state machine the test moves on, and a way to count flow processes.
 */

/** The bearer token the system accepts: only the worker has it (as a secret of its environment). */
export const JOB_SYSTEM_TOKEN = 'job-system-token-5b1f7c2e9a';
const TOKEN = JOB_SYSTEM_TOKEN;

export interface Job {
  id: string;
  model: string;
  idempotencyKey: string;
  state: 'running' | 'succeeded' | 'failed' | 'cancelled';
  polls: number;
  cancels: number;
}

/** The external system: POST /jobs (idempotent by key), GET /jobs/:id, POST /jobs/:id/cancel; bearer auth. */
export function jobSystem() {
  const jobs = new Map<string, Job>();
  const refused: string[] = [];
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      refused.push(`${req.method} ${req.url}`);
      reply(401, { error: 'unauthenticated' });
      return;
    }
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const [, , id, action] = (req.url ?? '').split('/');
      if (req.method === 'POST' && !id) {
        const { model, idempotencyKey } = JSON.parse(raw) as { model: string; idempotencyKey: string };
        const found = [...jobs.values()].find((j) => j.idempotencyKey === idempotencyKey);
        if (found) return reply(200, { id: found.id });
        const job: Job = { id: `job-${jobs.size + 1}`, model, idempotencyKey, state: 'running', polls: 0, cancels: 0 };
        jobs.set(job.id, job);
        return reply(201, { id: job.id });
      }
      const job = id ? jobs.get(id) : undefined;
      if (!job) return reply(404, { error: 'no such job' });
      if (req.method === 'POST' && action === 'cancel') {
        job.cancels++;
        if (job.state === 'running') job.state = 'cancelled';
        return reply(200, { id: job.id });
      }
      job.polls++;
      // The message echoes the caller's credential: the worker must mask it before it leaves.
      if (job.state === 'succeeded') return reply(200, { state: 'succeeded', result: { auc: 0.87 } });
      return reply(200, { state: job.state, message: `${job.state} (authorised as ${TOKEN}), poll ${job.polls}` });
    });
  });
  return {
    server,
    jobs,
    refused,
    /** Listens on a free loopback port; its base URL. */
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
      ),
  };
}

/** Flow processes (the SDK's runner) among the descendants of a process. */
export function flowProcessesUnder(pid: number): number {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] as string }));
  const under = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (!under.has(p.pid) && under.has(p.ppid)) {
        under.add(p.pid);
        grew = true;
      }
    }
  }
  return table.filter((p) => p.pid !== pid && under.has(p.pid) && /runtime[/\\]runner\.js/.test(p.args)).length;
}
