import { describe, expect, it } from 'vitest';
import { OptionsError, parseOptions } from '../src/options.js';

const ENV = { OUTPOST_API_URL: 'http://127.0.0.1:4200', OUTPOST_API_KEY: 'op_0123456789abcdef', HOME: '/home/w' };

describe('parseOptions', () => {
  it('applies the documented defaults', () => {
    const o = parseOptions(['--pool', 'default'], ENV);
    expect(o).toMatchObject({
      pool: 'default',
      limit: 4,
      labels: {},
      queues: [],
      heartbeatIntervalMs: 10_000,
      pollWaitMs: 25_000,
      prefetchMs: 0,
      drainGraceMs: 30_000,
      cancelGraceMs: 10_000,
      logBatchSize: 500,
      logBatchMs: 500,
      cacheDir: '/home/w/.cache/outpost',
      spoolDir: '/home/w/.local/state/outpost/spool',
    });
    expect(o.name).toMatch(/-\d+$/);
  });

  it('reads repeatable labels and queues and durations in several units', () => {
    const o = parseOptions(
      [
        '--pool',
        'gpu',
        '--label',
        'gpu=true',
        '--label',
        'zone=eu-1',
        '--queue',
        'high',
        '--queue',
        'low',
        '--limit',
        '2',
        '--heartbeat-interval',
        '500ms',
        '--drain-grace',
        '2m',
        '--cancel-grace',
        '1.5',
      ],
      ENV,
    );
    expect(o.labels).toEqual({ gpu: 'true', zone: 'eu-1' });
    expect(o.queues).toEqual(['high', 'low']);
    expect(o.limit).toBe(2);
    expect(o.heartbeatIntervalMs).toBe(500);
    expect(o.drainGraceMs).toBe(120_000);
    expect(o.cancelGraceMs).toBe(1_500);
  });

  it('lets flags win over environment variables', () => {
    const o = parseOptions(['--pool', 'flag-pool', '--limit', '8'], {
      ...ENV,
      OUTPOST_WORKER_POOL: 'env-pool',
      OUTPOST_WORKER_LIMIT: '1',
    });
    expect(o.pool).toBe('flag-pool');
    expect(o.limit).toBe(8);
    expect(parseOptions([], { ...ENV, OUTPOST_WORKER_POOL: 'env-pool' }).pool).toBe('env-pool');
  });

  it('names every invalid setting at once', () => {
    let error: unknown;
    try {
      parseOptions(['--limit', '0', '--heartbeat-interval', 'soon'], { HOME: '/h' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OptionsError);
    const message = (error as Error).message;
    for (const field of ['apiUrl', 'apiKey', 'pool', 'limit', 'heartbeatIntervalMs']) expect(message).toContain(field);
  });

  it('claims ahead of due times only when --prefetch says so, at most 60 s ahead', () => {
    expect(parseOptions(['--pool', 'p', '--prefetch', '10s'], ENV).prefetchMs).toBe(10_000);
    expect(parseOptions(['--pool', 'p'], { ...ENV, OUTPOST_WORKER_PREFETCH: '1500ms' }).prefetchMs).toBe(1_500);
    expect(() => parseOptions(['--pool', 'p', '--prefetch', '2m'], ENV)).toThrow(/--prefetch/);
  });

  it('never passes OUTPOST_ variables to flows even when asked', () => {
    expect(() => parseOptions(['--pool', 'p', '--pass-env', 'OUTPOST_API_KEY'], ENV)).toThrow(/never passed to flows/);
  });

  it('serves no health port unless one is given, on 127.0.0.1 unless told otherwise, the flag winning over the variable', () => {
    expect(parseOptions(['--pool', 'p'], ENV)).toMatchObject({ healthPort: null, healthHost: '127.0.0.1' });
    expect(parseOptions(['--pool', 'p'], { ...ENV, OUTPOST_WORKER_HEALTH_PORT: '' }).healthPort).toBeNull();
    expect(
      parseOptions(['--pool', 'p'], { ...ENV, OUTPOST_WORKER_HEALTH_PORT: '9464', OUTPOST_WORKER_HEALTH_HOST: '0.0.0.0' }),
    ).toMatchObject({ healthPort: 9464, healthHost: '0.0.0.0' });
    expect(
      parseOptions(['--pool', 'p', '--health-port', '9100', '--health-host', '::1'], {
        ...ENV,
        OUTPOST_WORKER_HEALTH_PORT: '9464',
      }),
    ).toMatchObject({ healthPort: 9100, healthHost: '::1' });
    for (const bad of ['70000', '-1', 'http', '94.5']) {
      expect(() => parseOptions(['--pool', 'p', `--health-port=${bad}`], ENV), bad).toThrow(
        /--health-port \(healthPort\): a port number/,
      );
    }
  });

  it('rejects unknown flags', () => {
    expect(() => parseOptions(['--pool', 'p', '--turbo'], ENV)).toThrow(OptionsError);
  });
});
