import type { CallResult } from '@outpost/sdk/client';
import type { TaskRunEvent } from '@outpost/sdk/contracts';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RunApi } from '../src/executors/run-api.js';
import { REDACTED, Redactor } from '../src/redact.js';
import { TaskRunShipper } from '../src/ship-task-runs.js';

const RUN = '00000000-0000-4000-8000-000000000001';
const TASK = '00000000-0000-4000-8000-000000000002';
const SECRET = 'task-s3cret-Vq8/k';

describe('task-run shipper redaction', () => {
  it("masks the keys and values of a task run's state data, and its name, keys and state name", async () => {
    const batches: TaskRunEvent[][] = [];
    const api = {
      attempt: 1,
      async call(_name: string, input: { body: { events: TaskRunEvent[] } }): Promise<CallResult<unknown>> {
        batches.push(input.body.events);
        return { ok: true, status: 200, data: { applied: input.body.events.length, duplicates: 0, refused: [] } };
      },
    } as unknown as RunApi;
    const shipper = new TaskRunShipper({
      api,
      redactor: () => new Redactor([SECRET]),
      logger: pino({ level: 'silent' }),
      onStaleAttempt: () => {},
      runLog: () => {},
      batchMs: 1,
    });
    const at = new Date().toISOString();
    shipper.push(RUN, {
      kind: 'create',
      id: TASK,
      name: `load-${SECRET}`,
      taskKey: `load-${SECRET}-0`,
      dynamicKey: SECRET,
      cacheKey: `c-${SECRET}`,
      state: { type: 'RUNNING', name: `Running ${SECRET}` },
      at,
    });
    expect(await shipper.flush()).toBe(true);
    shipper.push(RUN, {
      kind: 'state',
      id: TASK,
      seq: 1,
      state: { type: 'FAILED', message: `bad ${SECRET}`, data: { [SECRET]: [SECRET, 7], [`ref-${SECRET}`]: true } },
      at,
    });
    expect(await shipper.flush()).toBe(true);
    expect(batches.flat()).toEqual([
      {
        kind: 'create',
        id: TASK,
        name: `load-${REDACTED}`,
        taskKey: `load-${REDACTED}-0`,
        dynamicKey: REDACTED,
        cacheKey: `c-${REDACTED}`,
        state: { type: 'RUNNING', name: `Running ${REDACTED}` },
        at,
      },
      {
        kind: 'state',
        id: TASK,
        seq: 1,
        state: { type: 'FAILED', message: `bad ${REDACTED}`, data: { [REDACTED]: [REDACTED, 7], [`ref-${REDACTED}`]: true } },
        at,
      },
    ]);
    expect(JSON.stringify(batches)).not.toContain(SECRET);
  });
});
