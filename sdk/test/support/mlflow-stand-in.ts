import type { IncomingMessage, ServerResponse } from 'node:http';
import { type RecordedRequest, StandInServer } from './stand-in-server.js';

/*
 * A stand-in for an MLflow tracking server's model registry, written from MLflow's REST API
 * reference (2.0): the four endpoints the integration calls, their request fields, the version
 * state machine (PENDING_REGISTRATION → READY or FAILED_REGISTRATION) and errors as
 * `{ error_code, message }` with MLflow's codes and statuses. It records every request.
 */

interface Version {
  name: string;
  version: string;
  source: string;
  run_id: string;
  run_link: string;
  description: string;
  status: 'PENDING_REGISTRATION' | 'READY' | 'FAILED_REGISTRATION';
  status_message: string;
  tags: { key: string; value: string }[];
  creation_timestamp: number;
  last_updated_timestamp: number;
  reads: number;
}

export interface MlflowStandInOptions {
  /** Requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
  /** Reads of a new version that still find it PENDING_REGISTRATION. @default 2 */
  pendingReads?: number;
}

export class MlflowStandIn extends StandInServer {
  readonly requests: RecordedRequest[] = [];
  readonly models = new Map<string, { name: string; aliases: Record<string, string>; versions: Version[] }>();
  /** The next N requests are answered 429 with `Retry-After: 0`. */
  refuseNext = 0;
  /** The next N version creates get their connection closed after the version is stored. */
  dropNextCreate = 0;
  /** A source starting with this fails registration. */
  failingSourcePrefix = 'broken://';
  /** A source starting with this never leaves PENDING_REGISTRATION. */
  stuckSourcePrefix = 'stuck://';
  constructor(private readonly options: MlflowStandInOptions = {}) {
    super();
  }

  protected async respond(req: IncomingMessage, text: string, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    let body: Record<string, unknown> | null = null;
    if (text) {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return this.error(res, 400, 'MALFORMED_REQUEST', 'Malformed JSON in request body');
      }
    }
    const request = this.recorded(req, /^\/api\/2\.0\/mlflow\//, body);
    const path = request.path;
    this.requests.push(request);
    if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`) {
      return this.error(res, 401, 'UNAUTHENTICATED', 'Invalid credentials provided.');
    }
    if (this.refuseNext > 0) {
      this.refuseNext--;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
      return void res.end(JSON.stringify({ error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'Too many requests.' }));
    }
    const route = `${req.method} ${path}`;
    const now = Date.now();
    switch (route) {
      case 'POST registered-models/create': {
        const name = body?.name;
        if (typeof name !== 'string' || name === '') return this.missing(res, 'name');
        if (this.models.has(name)) {
          return this.error(res, 400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
        }
        this.models.set(name, { name, aliases: {}, versions: [] });
        return this.ok(res, { registered_model: { name, creation_timestamp: now, last_updated_timestamp: now } });
      }
      case 'POST model-versions/create': {
        const name = body?.name;
        const source = body?.source;
        if (typeof name !== 'string' || name === '') return this.missing(res, 'name');
        if (typeof source !== 'string' || source === '') return this.missing(res, 'source');
        const model = this.models.get(name);
        if (!model) return this.error(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
        const tags = (body?.tags ?? []) as { key: string; value: string }[];
        if (!Array.isArray(tags) || tags.some((t) => typeof t.key !== 'string' || typeof t.value !== 'string')) {
          return this.error(res, 400, 'INVALID_PARAMETER_VALUE', 'Invalid value for parameter tags');
        }
        const version: Version = {
          name,
          version: String(model.versions.length + 1),
          source,
          run_id: typeof body?.run_id === 'string' ? body.run_id : '',
          run_link: typeof body?.run_link === 'string' ? body.run_link : '',
          description: typeof body?.description === 'string' ? body.description : '',
          status: 'PENDING_REGISTRATION',
          status_message: '',
          tags,
          creation_timestamp: now,
          last_updated_timestamp: now,
          reads: 0,
        };
        model.versions.push(version);
        if (this.dropNextCreate > 0) {
          this.dropNextCreate--;
          return void req.socket.destroy();
        }
        return this.ok(res, { model_version: this.wire(version) });
      }
      case 'GET model-versions/get': {
        const name = url.searchParams.get('name');
        const number = url.searchParams.get('version');
        if (!name) return this.missing(res, 'name');
        if (!number) return this.missing(res, 'version');
        const version = this.models.get(name)?.versions.find((v) => v.version === number);
        if (!version)
          return this.error(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=${number}) not found`);
        version.reads++;
        if (version.status === 'PENDING_REGISTRATION' && !version.source.startsWith(this.stuckSourcePrefix)) {
          if (version.reads >= (this.options.pendingReads ?? 2)) {
            const failed = version.source.startsWith(this.failingSourcePrefix);
            version.status = failed ? 'FAILED_REGISTRATION' : 'READY';
            version.status_message = failed ? `Failed to copy model files from ${version.source}` : '';
            version.last_updated_timestamp = Date.now();
          }
        }
        return this.ok(res, { model_version: this.wire(version) });
      }
      case 'POST registered-models/alias': {
        const { name, alias, version } = (body ?? {}) as Record<string, unknown>;
        if (typeof name !== 'string') return this.missing(res, 'name');
        if (typeof alias !== 'string') return this.missing(res, 'alias');
        if (typeof version !== 'string') return this.missing(res, 'version');
        const model = this.models.get(name);
        if (!model?.versions.some((v) => v.version === version)) {
          return this.error(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=${version}) not found`);
        }
        model.aliases[alias] = version;
        return this.ok(res, {});
      }
      default:
        return this.error(res, 404, 'ENDPOINT_NOT_FOUND', `No API route for ${route}`);
    }
  }

  private wire(version: Version): Record<string, unknown> {
    const { reads: _reads, ...rest } = version;
    return rest;
  }

  private ok(res: ServerResponse, body: unknown): void {
    this.json(res, 200, body);
  }

  private missing(res: ServerResponse, field: string): void {
    this.error(res, 400, 'INVALID_PARAMETER_VALUE', `Missing value for required parameter '${field}'.`);
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error_code: code, message }));
  }
}
