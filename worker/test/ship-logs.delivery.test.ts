import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutpostClient } from '@outpost/sdk/client';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONTINUED_MARKER, LogShipper, MAX_MESSAGE_CHARS } from '../src/ship-logs.js';
import { LogServer } from './support/log-server.js';
import { waitFor } from './support/wait.js';

const logger = pino({ level: 'silent' });
const FAST = { baseMs: 5, maxMs: 40 };

describe('LogShipper', () => {
  let server: LogServer;
  let client: OutpostClient;
  let spoolDir: string;
  const shippers: LogShipper[] = [];

  beforeEach(async () => {
    server = new LogServer();
    await server.start();
    client = new OutpostClient({ baseUrl: server.url, token: 'run-token', timeoutMs: 5_000 });
    spoolDir = mkdtempSync(join(tmpdir(), 'outpost-spool-'));
  });

  afterEach(async () => {
    for (const s of shippers.splice(0)) s.stop();
    await client.close();
    await server.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  function shipper(
    runId: string,
    overrides: { batchSize?: number; batchMs?: number; url?: string; via?: OutpostClient } = {},
  ): LogShipper {
    const target =
      overrides.via ??
      (overrides.url ? new OutpostClient({ baseUrl: overrides.url, token: 'run-token', timeoutMs: 2_000 }) : client);
    const s = new LogShipper({
      runId,
      attempt: 1,
      spoolDir,
      batchSize: overrides.batchSize ?? 100,
      batchMs: overrides.batchMs ?? 20,
      logger,
      backoff: FAST,
      send: (batch) => target.call('logsWrite', { params: { id: runId }, body: batch }),
    });
    shippers.push(s);
    return s;
  }

  it('delivers every line exactly once and in order while the first requests fail, throttle or drop the connection', async () => {
    server.plan(['fail-503', 'drop', 'throttle-429', 'ok', 'store-then-drop', 'fail-503', 'ok']);
    const s = shipper(randomUUID());
    for (let i = 1; i <= 1_050; i++) s.push({ level: 'info', message: `line ${i}`, stream: 'stdout' });
    expect(await s.flush(20_000)).toBe(true);
    expect(server.seqs()).toEqual(Array.from({ length: 1_050 }, (_, i) => i + 1));
    for (const [, line] of server.stored) expect(line.message).toBe(`line ${line.seq}`);
    // The batch whose acknowledgement was lost was re-sent whole and de-duplicated, never reordered.
    const firstSeen: number[] = [];
    const seen = new Set<number>();
    for (const d of server.deliveries) if (!seen.has(d.seq) && seen.add(d.seq)) firstSeen.push(d.seq);
    expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    expect(server.deliveries.length).toBeGreaterThan(1_050);
    expect(s.stats.delivered).toBeGreaterThanOrEqual(1_050);
    expect(s.stats.dropped).toBe(0);
  });

  it("keeps a flow's own time for a line unless it is ahead of this machine's clock, when the line takes the worker's time", async () => {
    const s = shipper(randomUUID());
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const ahead = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const before = Date.now();
    s.push({ level: 'info', message: 'from the past', stream: 'flow', timestamp: past });
    s.push({ level: 'info', message: 'from the future', stream: 'flow', timestamp: ahead });
    s.push({ level: 'info', message: 'unreadable', stream: 'flow', timestamp: 'yesterday-ish' });
    expect(await s.flush(10_000)).toBe(true);
    const lines = [...server.stored.values()].sort((a, b) => a.seq - b.seq);
    expect(lines.map((l) => l.message)).toEqual(['from the past', 'from the future', 'unreadable']);
    expect(lines[0]?.timestamp).toBe(past);
    for (const line of lines.slice(1)) {
      expect(Date.parse(line.timestamp)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(line.timestamp)).toBeLessThanOrEqual(Date.now());
    }
  });

  it('spools lines while the API is unreachable and a new shipper delivers them after a restart', async () => {
    const runId = randomUUID();
    server.plan([], 'fail-503');
    const first = shipper(runId, { batchSize: 10 });
    for (let i = 1; i <= 25; i++) first.push({ level: 'warning', message: `early ${i}`, stream: 'flow' });
    const spoolFile = join(spoolDir, `${runId}-1.ndjson`);
    await waitFor(() => existsSync(spoolFile) && readFileSync(spoolFile, 'utf8').includes('early 25'), 10_000);
    first.stop();
    expect(server.seqs()).toEqual([]);

    server.plan([], 'ok');
    const second = shipper(runId, { batchSize: 10 });
    second.push({ level: 'info', message: 'after restart', stream: 'worker' });
    expect(second.lastSeq).toBe(26);
    expect(await second.flush(10_000)).toBe(true);
    expect(server.seqs()).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    expect(server.stored.get('1/26')?.message).toBe('after restart');
    expect(server.stored.get('1/3')?.message).toBe('early 3');
    expect(existsSync(spoolFile)).toBe(false);
  });

  it('keeps lines that were acknowledged before the outage out of the re-sent spool', async () => {
    const runId = randomUUID();
    // A connection pool of its own, closed after the stop: a retry already on the wire is answered
    // (503) before the plan changes, instead of being stored after it.
    const own = new OutpostClient({ baseUrl: server.url, token: 'run-token', timeoutMs: 5_000 });
    const first = shipper(runId, { batchSize: 5, batchMs: 0, via: own });
    for (let i = 1; i <= 5; i++) first.push({ level: 'info', message: `ok ${i}`, stream: 'stdout' });
    expect(await first.flush(5_000)).toBe(true);
    server.plan([], 'fail-503');
    for (let i = 6; i <= 8; i++) first.push({ level: 'info', message: `late ${i}`, stream: 'stdout' });
    await waitFor(() => existsSync(join(spoolDir, `${runId}-1.ndjson`)), 10_000);
    first.stop();
    await own.close();
    server.plan([], 'ok');
    const before = server.deliveries.length;
    const second = shipper(runId, { batchSize: 5, batchMs: 0 });
    expect(await second.flush(10_000)).toBe(true);
    expect(server.deliveries.slice(before).map((d) => d.seq)).toEqual([6, 7, 8]);
  });

  it('drops a batch the API refuses outright instead of retrying it forever, and keeps shipping', async () => {
    server.plan(['refuse-409']);
    const s = shipper(randomUUID(), { batchSize: 2, batchMs: 10_000 });
    s.push({ level: 'info', message: 'a', stream: 'stdout' });
    s.push({ level: 'info', message: 'b', stream: 'stdout' });
    expect(await s.flush(5_000)).toBe(true);
    s.push({ level: 'info', message: 'c', stream: 'stdout' });
    expect(await s.flush(5_000)).toBe(true);
    expect(server.seqs()).toEqual([3]);
    expect(s.stats.dropped).toBe(2);
  });

  it('splits a line longer than the API accepts into marked parts', async () => {
    const s = shipper(randomUUID());
    s.push({ level: 'info', message: 'x'.repeat(70_000), stream: 'stdout' });
    expect(await s.flush(5_000)).toBe(true);
    const parts = server.seqs().map((seq) => server.stored.get(`1/${seq}`)!.message);
    expect(parts.length).toBe(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(parts[0]!.endsWith(CONTINUED_MARKER)).toBe(true);
    expect(parts.join('').replaceAll(CONTINUED_MARKER, '')).toBe('x'.repeat(70_000));
  });

  it('redacts each line before it is numbered, spooled or sent', async () => {
    const runId = randomUUID();
    const s = new LogShipper({
      runId,
      attempt: 1,
      spoolDir,
      batchSize: 10,
      batchMs: 0,
      logger,
      backoff: FAST,
      redact: (text) => text.replaceAll('s3cr3t-value', '***'),
      send: (batch) => client.call('logsWrite', { params: { id: runId }, body: batch }),
    });
    shippers.push(s);
    s.push({ level: 'info', message: 'connecting with s3cr3t-value', stream: 'stdout' });
    expect(await s.flush(5_000)).toBe(true);
    expect(server.stored.get('1/1')?.message).toBe('connecting with ***');
  });

  it('hands its queued lines to a state proposal, and sends nothing until the proposal is answered', async () => {
    const s = shipper(randomUUID(), { batchMs: 5 });
    s.push({ level: 'info', message: 'one', stream: 'stdout' });
    s.push({ level: 'info', message: 'two', stream: 'stdout' });
    const carried = s.takeForRequest();
    expect(carried?.lines.map((l) => [l.seq, l.message])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
    // A line pushed meanwhile waits: sent before the carried ones are settled, it could overtake them.
    s.push({ level: 'info', message: 'three', stream: 'stdout' });
    expect(s.takeForRequest()).toBeNull();
    const flushed = s.flush(5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.requests).toBe(0);
    carried?.done(true);
    expect(await flushed).toBe(true);
    // Only the line the proposal did not carry went through the logs route.
    expect(server.seqs()).toEqual([3]);
  });

  it('sends the lines itself, in order, when the proposal that carried them failed', async () => {
    const s = shipper(randomUUID(), { batchMs: 5 });
    for (const message of ['a', 'b']) s.push({ level: 'info', message, stream: 'stdout' });
    const carried = s.takeForRequest();
    s.push({ level: 'info', message: 'c', stream: 'stdout' });
    carried?.done(false);
    expect(await s.flush(5_000)).toBe(true);
    expect(server.seqs()).toEqual([1, 2, 3]);
    expect([...server.stored.values()].map((l) => l.message)).toEqual(['a', 'b', 'c']);
  });

  it('keeps its lines when a batch is in flight or more than one batch is queued', async () => {
    server.plan(['fail-503']);
    const s = shipper(randomUUID(), { batchSize: 2, batchMs: 5 });
    for (const message of ['a', 'b', 'c']) s.push({ level: 'info', message, stream: 'stdout' });
    expect(s.takeForRequest()).toBeNull();
    expect(await s.flush(5_000)).toBe(true);
    expect(server.seqs()).toEqual([1, 2, 3]);
  });
});
