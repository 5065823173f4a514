import type { IncomingMessage, ServerResponse } from 'node:http';
import { type RecordedRequest, StandInServer } from './stand-in-server.js';

/*
 * A stand-in for a Databricks workspace's Jobs API 2.1, written from its reference: `run-now`,
 * `runs/submit` (both honouring `idempotency_token`: the same token gives the same run), `runs/get`
 * and `runs/cancel`, runs going PENDING → RUNNING → TERMINATING/TERMINATED with a result state,
 * and errors as `{ error_code, message }`. A run moves one step each time it is read, so tests
 * need no clock. It records every request.
 */

export interface StandInJob {
  /** Reads of a run before it ends (it is PENDING for the first, RUNNING after). @default 3 */
  readsToFinish?: number;
  /** Ends FAILED with this message instead of SUCCESS. */
  failWith?: string;
  /** Never ends by itself. */
  endless?: boolean;
}

interface Run {
  run_id: number;
  job_id: number | null;
  run_name: string;
  token: string | null;
  reads: number;
  job: StandInJob;
  cancelRequested: boolean;
  life: string;
  result: string | null;
  message: string;
  start_time: number;
  end_time: number | null;
}

export class DatabricksStandIn extends StandInServer {
  readonly requests: RecordedRequest[] = [];
  readonly runs: Run[] = [];
  readonly jobs = new Map<number, StandInJob>();
  constructor(private readonly token: string) {
    super();
  }

  protected async respond(req: IncomingMessage, text: string, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    const request = this.recorded(req, /^\/api\/2\.1\/jobs\//, body);
    const path = request.path;
    this.requests.push(request);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return this.error(res, 401, 'UNAUTHENTICATED', 'Invalid access token.');
    }
    switch (`${req.method} ${path}`) {
      case 'POST run-now': {
        const jobId = body?.job_id;
        if (typeof jobId !== 'number') return this.error(res, 400, 'INVALID_PARAMETER_VALUE', 'Missing required field: job_id');
        const job = this.jobs.get(jobId);
        if (!job) return this.error(res, 400, 'INVALID_PARAMETER_VALUE', `Job ${jobId} does not exist.`);
        const run = this.startRun(body, jobId, `job-${jobId}`, job);
        return this.ok(res, { run_id: run.run_id, number_in_job: run.run_id });
      }
      case 'POST runs/submit': {
        const tasks = body?.tasks;
        if (!Array.isArray(tasks) || tasks.length === 0) {
          return this.error(res, 400, 'INVALID_PARAMETER_VALUE', 'A run must have at least one task');
        }
        const name = typeof body?.run_name === 'string' ? body.run_name : 'Untitled';
        const run = this.startRun(body, null, name, {});
        return this.ok(res, { run_id: run.run_id });
      }
      case 'GET runs/get': {
        const run = this.runs.find((r) => String(r.run_id) === url.searchParams.get('run_id'));
        if (!run) return this.error(res, 400, 'INVALID_PARAMETER_VALUE', `Run ${url.searchParams.get('run_id')} does not exist.`);
        this.advance(run);
        return this.ok(res, {
          run_id: run.run_id,
          ...(run.job_id !== null ? { job_id: run.job_id } : {}),
          run_name: run.run_name,
          run_page_url: `${this.url}/#job/${run.job_id ?? 'submit'}/run/${run.run_id}`,
          state: {
            life_cycle_state: run.life,
            ...(run.result ? { result_state: run.result } : {}),
            state_message: run.message,
            user_cancelled_or_timedout: run.result === 'CANCELED',
          },
          start_time: run.start_time,
          ...(run.end_time ? { end_time: run.end_time, run_duration: run.end_time - run.start_time } : {}),
        });
      }
      case 'POST runs/cancel': {
        const run = this.runs.find((r) => r.run_id === body?.run_id);
        if (!run) return this.error(res, 400, 'INVALID_PARAMETER_VALUE', `Run ${String(body?.run_id)} does not exist.`);
        if (run.life !== 'TERMINATED') {
          run.cancelRequested = true;
          run.life = 'TERMINATING';
        }
        return this.ok(res, {});
      }
      default:
        return this.error(res, 404, 'ENDPOINT_NOT_FOUND', `No API found for '${req.method} /api/2.1/jobs/${path}'`);
    }
  }

  private startRun(body: Record<string, unknown> | null, jobId: number | null, name: string, job: StandInJob): Run {
    const token = typeof body?.idempotency_token === 'string' ? body.idempotency_token : null;
    const existing = token ? this.runs.find((r) => r.token === token) : undefined;
    if (existing) return existing;
    const run: Run = {
      run_id: 1000 + this.runs.length,
      job_id: jobId,
      run_name: name,
      token,
      reads: 0,
      job,
      cancelRequested: false,
      life: 'PENDING',
      result: null,
      message: 'Waiting for cluster',
      start_time: 1_764_000_000_000 + this.runs.length,
      end_time: null,
    };
    this.runs.push(run);
    return run;
  }

  /** One step per read: PENDING, RUNNING…, then TERMINATED; a cancelled run ends CANCELED. */
  private advance(run: Run): void {
    run.reads++;
    if (run.life === 'TERMINATED') return;
    if (run.cancelRequested) {
      if (run.life === 'TERMINATING' && run.reads > 1) {
        Object.assign(run, {
          life: 'TERMINATED',
          result: 'CANCELED',
          message: 'Run cancelled.',
          end_time: run.start_time + 5_000,
        });
      }
      return;
    }
    if (run.reads === 1) return;
    if (run.job.endless || run.reads < (run.job.readsToFinish ?? 3)) {
      Object.assign(run, { life: 'RUNNING', message: 'In run' });
      return;
    }
    const failed = run.job.failWith !== undefined;
    Object.assign(run, {
      life: 'TERMINATED',
      result: failed ? 'FAILED' : 'SUCCESS',
      message: failed ? run.job.failWith : '',
      end_time: run.start_time + 42_000,
    });
  }

  private ok(res: ServerResponse, body: unknown): void {
    this.json(res, 200, body);
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error_code: code, message }));
  }
}
