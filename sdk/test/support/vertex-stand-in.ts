import type { IncomingMessage, ServerResponse } from 'node:http';
import { importSPKI, jwtVerify } from 'jose';
import { StandInServer } from './stand-in-server.js';

/*
 * A stand-in for Google's OAuth token endpoint and Vertex AI's custom jobs (REST v1), written from
 * their references. The token endpoint takes the JWT-bearer grant and verifies the assertion's
 * RS256 signature with the service account's public key, its issuer, audience and scope. Custom
 * jobs: `create` (required `displayName` and `jobSpec.workerPoolSpecs`), `get`, `cancel`, and
 * `list` with `filter=labels.<key>="<value>"`, `pageSize` and `pageToken`; errors as
 * `{ error: { code, message, status } }`; a job moves one state each time it is read.
 */

export interface VertexRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown> | null;
}

interface Job {
  name: string;
  displayName: string;
  jobSpec: Record<string, unknown>;
  labels: Record<string, string>;
  state: string;
  reads: number;
  error: { code: number; message: string } | null;
}

export class VertexStandIn extends StandInServer {
  readonly requests: VertexRequest[] = [];
  readonly jobs: Job[] = [];
  /** Access tokens handed out, in order. */
  readonly tokens: string[] = [];
  constructor(
    private readonly account: { email: string; publicKeyPem: string },
    private readonly project: { id: string; number: string; location: string },
  ) {
    super();
  }

  /** Adds finished jobs of someone else's, so that a search has pages to go through. */
  seed(count: number): void {
    for (let i = 0; i < count; i++) this.addJob(`seeded-${i}`, {}, { team: 'other' }, 'JOB_STATE_SUCCEEDED');
  }

  private addJob(
    displayName: string,
    jobSpec: Record<string, unknown>,
    labels: Record<string, string>,
    state = 'JOB_STATE_QUEUED',
  ): Job {
    const job: Job = {
      name: `projects/${this.project.number}/locations/${this.project.location}/customJobs/${7_000_000 + this.jobs.length}`,
      displayName,
      jobSpec,
      labels,
      state,
      reads: 0,
      error: null,
    };
    this.jobs.push(job);
    return job;
  }

  protected async respond(req: IncomingMessage, text: string, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (url.pathname === '/token') return this.token(res, new URLSearchParams(text));
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    const path = url.pathname.replace(/^\/v1\//, '');
    this.requests.push({ method: req.method ?? '', path, query: Object.fromEntries(url.searchParams), body });
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!this.tokens.includes(bearer))
      return this.error(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');

    const parent = `projects/${this.project.id}/locations/${this.project.location}/customJobs`;
    if (path === parent && req.method === 'POST') {
      const spec = body?.jobSpec as { workerPoolSpecs?: unknown[] } | undefined;
      if (typeof body?.displayName !== 'string' || body.displayName === '')
        return this.error(res, 400, 'INVALID_ARGUMENT', 'displayName is required.');
      if (!Array.isArray(spec?.workerPoolSpecs) || spec.workerPoolSpecs.length === 0) {
        return this.error(res, 400, 'INVALID_ARGUMENT', 'job_spec.worker_pool_specs is required.');
      }
      const labels = (body.labels ?? {}) as Record<string, string>;
      for (const [key, value] of Object.entries(labels)) {
        if (!/^[a-z][a-z0-9_-]{0,62}$/.test(key) || !/^[a-z0-9_-]{0,63}$/.test(value)) {
          return this.error(res, 400, 'INVALID_ARGUMENT', `Invalid label ${key}=${value}.`);
        }
      }
      const job = this.addJob(body.displayName, spec as Record<string, unknown>, labels);
      return this.ok(res, this.wire(job));
    }
    if (path === parent && req.method === 'GET') {
      const match = /^labels\.([a-z0-9_-]+)="([^"]*)"$/.exec(url.searchParams.get('filter') ?? '');
      const all = this.jobs.filter((job) => !match || job.labels[match[1] as string] === match[2]);
      // Unfiltered listing pages through every job; a label filter is applied after paging, as a
      // server may fill pages before filtering: the client must follow nextPageToken either way.
      const pageSize = Math.min(Number(url.searchParams.get('pageSize') ?? 100), 5);
      const start = Number(url.searchParams.get('pageToken') ?? 0);
      const page = this.jobs.slice(start, start + pageSize).filter((job) => all.includes(job));
      const next = start + pageSize < this.jobs.length ? String(start + pageSize) : undefined;
      return this.ok(res, { customJobs: page.map((job) => this.wire(job)), ...(next ? { nextPageToken: next } : {}) });
    }
    const cancel = /^(.*):cancel$/.exec(path);
    const job = this.jobs.find((j) => j.name === (cancel ? cancel[1] : path));
    if (!job) return this.error(res, 404, 'NOT_FOUND', `The CustomJob does not exist.`);
    if (cancel && req.method === 'POST') {
      if (['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'].includes(job.state)) {
        return this.error(res, 400, 'FAILED_PRECONDITION', `Cannot cancel a job in state ${job.state}.`);
      }
      job.state = 'JOB_STATE_CANCELLING';
      return this.ok(res, {});
    }
    if (req.method === 'GET') {
      this.advance(job);
      return this.ok(res, this.wire(job));
    }
    return this.error(res, 404, 'NOT_FOUND', `No route for ${req.method} ${path}`);
  }

  private advance(job: Job): void {
    job.reads++;
    const args = JSON.stringify(job.jobSpec);
    switch (job.state) {
      case 'JOB_STATE_QUEUED':
        job.state = 'JOB_STATE_PENDING';
        return;
      case 'JOB_STATE_PENDING':
        job.state = 'JOB_STATE_RUNNING';
        return;
      case 'JOB_STATE_RUNNING':
        if (args.includes('--forever')) return;
        if (args.includes('--fail')) {
          job.state = 'JOB_STATE_FAILED';
          job.error = { code: 3, message: 'The replica workerpool0-0 exited with a non-zero status of 1.' };
        } else job.state = 'JOB_STATE_SUCCEEDED';
        return;
      case 'JOB_STATE_CANCELLING':
        job.state = 'JOB_STATE_CANCELLED';
        job.error = { code: 1, message: 'CANCELED' };
        return;
    }
  }

  private wire(job: Job): Record<string, unknown> {
    return {
      name: job.name,
      displayName: job.displayName,
      jobSpec: job.jobSpec,
      labels: job.labels,
      state: job.state,
      createTime: '2026-11-25T10:00:00Z',
      ...(job.state !== 'JOB_STATE_QUEUED' ? { startTime: '2026-11-25T10:01:00Z' } : {}),
      ...(job.state === 'JOB_STATE_SUCCEEDED' ? { endTime: '2026-11-25T10:31:00Z' } : {}),
      ...(job.error ? { error: job.error } : {}),
    };
  }

  private async token(res: ServerResponse, form: URLSearchParams): Promise<void> {
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return this.oauthError(res, 'unsupported_grant_type', 'Invalid grant_type');
    }
    try {
      const key = await importSPKI(this.account.publicKeyPem, 'RS256');
      const { payload } = await jwtVerify(form.get('assertion') ?? '', key, {
        issuer: this.account.email,
        audience: `${this.url}/token`,
        algorithms: ['RS256'],
      });
      if (payload.scope !== 'https://www.googleapis.com/auth/cloud-platform')
        return this.oauthError(res, 'invalid_scope', 'Bad scope');
    } catch {
      return this.oauthError(res, 'invalid_grant', 'Invalid JWT Signature.');
    }
    const token = `ya29.stand-in-${this.tokens.length + 1}`;
    this.tokens.push(token);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
  }

  private oauthError(res: ServerResponse, error: string, description: string): void {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error, error_description: description }));
  }

  private ok(res: ServerResponse, body: unknown): void {
    this.json(res, 200, body);
  }

  private error(res: ServerResponse, code: number, status: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code, message, status } }));
  }
}
