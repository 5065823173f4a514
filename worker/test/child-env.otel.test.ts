import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildChildEnv, credentialValues, otelEnvOf } from '../src/child-env.js';
import { OptionsError, parseOptions } from '../src/options.js';
import { Redactor } from '../src/redact.js';

const run = promisify(execFile);

const KEY = 'hc-ingest-key-7f3a9b2c';
const WORKER_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  OUTPOST_API_KEY: 'op_workerkey0000000000000000',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.internal:4318',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.internal:4318/v1/traces',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_SERVICE_NAME: 'ml-flows',
  OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
  OTEL_EXPORTER_OTLP_HEADERS: `x-honeycomb-team=${KEY},x-honeycomb-dataset=flows`,
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'Authorization=Basic%20dXNlcjpzM2NyZXQ%3D',
};

/** The environment a real child process sees when spawned with `env`. */
async function envSeenByChild(env: Record<string, string>): Promise<Record<string, string>> {
  const { stdout } = await run(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.env))'], { env });
  return JSON.parse(stdout) as Record<string, string>;
}

function flowEnv(shareCollectorCredentials?: boolean): Record<string, string> {
  return buildChildEnv({
    workerEnv: WORKER_ENV,
    passEnv: [],
    jobEnv: {},
    run: { id: randomUUID(), attempt: 1, flowName: 'train' },
    ...(shareCollectorCredentials === undefined ? {} : { shareCollectorCredentials }),
  });
}

describe("the worker's OpenTelemetry variables in a flow's environment", () => {
  it('gives a flow process every OTEL_* setting but not the OTLP headers, unless the worker shares them', async () => {
    const withheld = await envSeenByChild(flowEnv());
    expect(withheld).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.internal:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.internal:4318/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'ml-flows',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
    });
    expect(withheld.OTEL_EXPORTER_OTLP_HEADERS).toBeUndefined();
    expect(withheld.OTEL_EXPORTER_OTLP_TRACES_HEADERS).toBeUndefined();
    expect(JSON.stringify(withheld)).not.toContain(KEY);

    const shared = await envSeenByChild(flowEnv(true));
    expect(shared.OTEL_EXPORTER_OTLP_HEADERS).toBe(WORKER_ENV.OTEL_EXPORTER_OTLP_HEADERS);
    expect(shared.OTEL_EXPORTER_OTLP_TRACES_HEADERS).toBe(WORKER_ENV.OTEL_EXPORTER_OTLP_TRACES_HEADERS);
    expect(shared.OUTPOST_API_KEY).toBeUndefined();
  });

  it('redacts shared collector credentials from flow output, each header value and the whole', () => {
    expect(credentialValues(flowEnv())).toEqual([]);
    const redactor = new Redactor(credentialValues(flowEnv(true)));
    expect(redactor.redact(`headers: ${WORKER_ENV.OTEL_EXPORTER_OTLP_HEADERS}`)).not.toContain(KEY);
    expect(redactor.redact(`team key ${KEY} in a message`)).toBe('team key *** in a message');
    expect(redactor.redact('Authorization: Basic dXNlcjpzM2NyZXQ=')).toBe('Authorization: ***');
    expect(redactor.redact('dataset flows')).toBe('dataset flows');
  });

  it('splits them for a pod: settings for the pod spec, the shared credentials for the relay', () => {
    expect(otelEnvOf(flowEnv())).toEqual({
      settings: {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.internal:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.internal:4318/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'ml-flows',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
      },
      credentials: {},
    });
    expect(otelEnvOf(flowEnv(true)).credentials).toEqual({
      OTEL_EXPORTER_OTLP_HEADERS: WORKER_ENV.OTEL_EXPORTER_OTLP_HEADERS,
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: WORKER_ENV.OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    });
  });

  it('shares them only when the operator says so, with the flag or the variable set to true', () => {
    const env = { OUTPOST_API_URL: 'http://127.0.0.1:1', OUTPOST_API_KEY: 'op_worker_key_for_tests' };
    expect(parseOptions(['--pool', 'p'], env).otelShareCollectorCredentials).toBe(false);
    expect(parseOptions(['--pool', 'p', '--otel-share-collector-credentials'], env).otelShareCollectorCredentials).toBe(true);
    const fromEnv = (value: string) =>
      parseOptions(['--pool', 'p'], { ...env, OUTPOST_WORKER_OTEL_SHARE_COLLECTOR_CREDENTIALS: value })
        .otelShareCollectorCredentials;
    expect(fromEnv('true')).toBe(true);
    expect(fromEnv('false')).toBe(false);
    expect(() => fromEnv('yes')).toThrow(OptionsError);
    expect(() => fromEnv('yes')).toThrow(/OUTPOST_WORKER_OTEL_SHARE_COLLECTOR_CREDENTIALS.*true or false/);
  });
});
