import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createTestDatabase, type TestDatabase } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';
import { type Flood, startFlood } from '../support/connection-flood.js';

/*
 * The API process runs with 1,024 open files at most, and 1,500 connections are opened against it:
 * half send nothing, half send half a request and then a byte a second (slowloris). More connections
 * than the process can hold open files for, so without a connection cap it runs out of descriptors
 * and stops answering — the outage this test reproduces. With the cap, the probes and an
 * authenticated call must still be answered, and the process must be healthy once the flood ends.
 */
const OPEN_FILES = 1_024;
const FLOOD = 1_500;
const WITHIN_MS = 60_000;

interface Answer {
  status: number;
  body: string;
  /** Time of the attempt that got the answer. */
  ms: number;
  /** Attempts it took (the earlier ones failed to connect or were reset). */
  attempts: number;
}

/** GET on a fresh connection, retried on connection errors until `deadline`. */
async function get(url: string, headers: Record<string, string> = {}, deadline = Date.now() + WITHIN_MS): Promise<Answer> {
  for (let attempts = 1; ; attempts++) {
    const started = performance.now();
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.get(url, { headers, agent: false, timeout: Math.max(1, deadline - Date.now()) }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in time`)));
        req.on('error', reject);
      });
      return { status, body, ms: Math.round(performance.now() - started), attempts };
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
  }
}

function openFilesLimit(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3]);
}

function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

describe('an API process limited to 1,024 open files under a flood of 1,500 idle and slowloris connections', () => {
  let db: TestDatabase;
  let api: ApiProcess;
  let flood: Flood | null = null;
  let ownerKey: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    api = await startApiProcess(db.url, {}, { expectOwnerKey: true, openFilesLimit: OPEN_FILES });
    ownerKey = api.ownerKey ?? '';
  });

  afterAll(async () => {
    await flood?.close();
    await api?.stop();
    await db?.drop();
  });

  it('keeps answering /healthz and an authenticated call, and is healthy once the flood ends', async () => {
    const pid = api.child.pid as number;
    expect(openFilesLimit(pid)).toBe(OPEN_FILES);
    const whoami = { authorization: `Bearer ${ownerKey}` };
    expect((await get(`${api.url}/api/v1/whoami`, whoami)).status).toBe(200);

    flood = startFlood(api.url, { count: FLOOD });
    await flood.started;
    const held = openFiles(pid);
    const healthz = await get(`${api.url}/healthz`);
    const me = await get(`${api.url}/api/v1/whoami`, whoami);
    const stillOpen = flood.open();
    console.info(
      `flood: ${flood.opened} opened, ${flood.failed} failed, ${stillOpen} still open; ` +
        `the API held ${held} open files; /healthz ${healthz.ms} ms (${healthz.attempts} attempt(s)), ` +
        `whoami ${me.ms} ms (${me.attempts} attempt(s))`,
    );
    expect(healthz.status).toBe(200);
    expect(JSON.parse(healthz.body)).toEqual({ status: 'ok' });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ workspace: { slug: 'default' }, principal: { role: 'owner' } });
    // The flood really was more than the process could hold.
    expect(flood.opened + flood.failed).toBe(FLOOD);
    expect(held).toBeLessThan(OPEN_FILES);

    await flood.close();
    expect(flood.open()).toBe(0);
    flood = null;
    expect(api.child.exitCode).toBeNull();
    expect((await get(`${api.url}/healthz`)).status).toBe(200);
    expect((await get(`${api.url}/readyz`)).status).toBe(200);
    expect((await get(`${api.url}/api/v1/whoami`, whoami)).status).toBe(200);
    expect(api.output()).not.toMatch(/EMFILE|too many open files/i);
    console.info(
      api
        .output()
        .split('\n')
        .filter((l) => /connection|open-files/.test(l))
        .join('\n'),
    );
  });
});
