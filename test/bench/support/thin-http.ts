import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import {
  type RawLogLine,
  rawClaim,
  rawClaimMany,
  rawInsertLogs,
  rawInsertManyLogs,
  rawSetState,
  rawSetStates,
} from './raw-lifecycle.js';

/**
 * The thinnest HTTP server that can run the lifecycle: node:http, JSON bodies, postgres.js, the
 * same SQL as the raw baseline. What separates it from the API is everything the API does on top:
 * authentication, contract validation, state rules, run tokens, events.
 */
export interface ThinServer {
  url: string;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startThinServer(databaseUrl: string): Promise<ThinServer> {
  const sql = postgres(databaseUrl, { max: 20, onnotice: () => {} });
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readJson(req);
        const [, first, id, action] = (req.url ?? '').split('/');
        if (req.method === 'POST' && first === 'claim') {
          return reply(res, 200, { run: await rawClaim(sql, String(body.workerId)) });
        }
        if (req.method === 'POST' && first === 'runs' && id && action === 'state') {
          const ok = await rawSetState(sql, {
            runId: id,
            attempt: Number(body.attempt),
            workerId: String(body.workerId),
            state: body.state === 'COMPLETED' ? 'COMPLETED' : 'RUNNING',
          });
          return reply(res, ok ? 200 : 409, { ok });
        }
        if (req.method === 'POST' && first === 'runs' && id && action === 'logs') {
          const accepted = await rawInsertLogs(sql, id, Number(body.attempt), body.logs as RawLogLine[]);
          return reply(res, 200, { accepted });
        }
        // The batched lifecycle: the same steps for many runs per call.
        type Runs = { id: string; attempt: number }[];
        if (req.method === 'POST' && first === 'claim-many') {
          return reply(res, 200, { runs: await rawClaimMany(sql, String(body.workerId), Number(body.limit)) });
        }
        if (req.method === 'POST' && first === 'states') {
          const runs = body.runs as Runs;
          const moved = await rawSetStates(sql, {
            runs,
            workerId: String(body.workerId),
            state: body.state === 'COMPLETED' ? 'COMPLETED' : 'RUNNING',
          });
          return reply(res, moved === runs.length ? 200 : 409, { moved });
        }
        if (req.method === 'POST' && first === 'logs-many') {
          return reply(res, 200, { accepted: await rawInsertManyLogs(sql, body.runs as Runs, body.logs as RawLogLine[]) });
        }
        reply(res, 404, { error: 'not found' });
      } catch (error) {
        reply(res, 500, { error: (error as Error).message });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sql.end({ timeout: 5 });
    },
  };
}
