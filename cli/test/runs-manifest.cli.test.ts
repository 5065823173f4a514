import { randomUUID } from 'node:crypto';
import { seedFinishedRun } from '@outpost/api/testing';
import { unwrap } from '@outpost/sdk/client';
import type { FlowRun, FlowRunManifest } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { useTestApi } from './api.support.js';

let original: FlowRun;
const DIGEST = `sha256:${'c'.repeat(64)}`;
const SOURCE = `oci://127.0.0.1:5000/acme/flows@${DIGEST}`;
const NAME = `manifest-${randomUUID().slice(0, 8)}`;

/**
 * A run named NAME of a deployment that reads a secret and asks for a GPU, claimed by a worker
 * advertising two devices, which reports where the attempt runs and finishes it; then the
 * deployment is redeployed with another entrypoint and defaults, as happens before one reproduces.
 */
const api = useTestApi(async ({ server, owner }) => {
  original = await seedFinishedRun(server, owner, {
    worker: { name: 'gpu-box', gpus: 2, gpuModel: 'NVIDIA A100', memoryGb: 64, cpus: 16 },
    deployment: {
      source: SOURCE,
      parameters: { lr: 0.1 },
      resources: { gpus: 1 },
      jobVariables: { env: { HF_TOKEN: { $secret: 'HF_TOKEN' }, MODE: 'fast' } },
    },
    run: { name: NAME, parameters: { lr: 0.5 } },
    environment: { workerVersion: '0.1.0', executor: 'process', nodeVersion: 'v20.19.0', image: null, imageDigest: null },
    redeploy: { entrypoint: 'flows/train-v2.js', parameters: { lr: 0.2 } },
  });
});
const { outpost } = api;

describe('outpost runs manifest', () => {
  test('shows the pinned code, parameters, job variables, secret names and where each attempt ran, for a run named by its name', async () => {
    const shown = await outpost('runs', 'manifest', NAME);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    const lines = shown.stdout.split('\n');
    expect(lines).toContain(`run:          ${NAME} (${original.id})`);
    expect(lines).toContain('deployment:   train/gpu');
    expect(lines).toContain(`source:       ${SOURCE}`);
    expect(lines).toContain(`code digest:  ${DIGEST}`);
    expect(lines).toContain('entrypoint:   flows/train.js');
    expect(lines).toContain('secrets:      HF_TOKEN');
    const parameters = lines.indexOf('parameters:');
    expect(lines.slice(parameters + 1, parameters + 4)).toEqual(['  {', '    "lr": 0.5', '  }']);
    expect(shown.stdout).toContain('"HF_TOKEN": {\n        "$secret": "HF_TOKEN"\n      }');
    const attempts = lines.indexOf('attempts:');
    expect(lines[attempts + 1]).toMatch(
      /^ {2}ATTEMPT\s+WORKER\s+EXECUTOR\s+WORKER VERSION\s+NODE\s+IMAGE\s+ASSIGNED\s+ENDED AS$/,
    );
    expect(lines[attempts + 2]).toMatch(/^ {2}1\s+gpu-box\s+process\s+0\.1\.0\s+v20\.19\.0\s+-\s+GPU 0\s+COMPLETED$/);
  });

  test('prints the manifest as the API returns it with --json, and names a run it cannot find', async () => {
    const shown = await outpost('runs', 'manifest', original.id, '--json');
    expect(shown.code).toBe(0);
    const manifest = JSON.parse(shown.stdout) as FlowRunManifest;
    expect(manifest).toMatchObject({
      flowRunId: original.id,
      codeDigest: DIGEST,
      entrypoint: 'flows/train.js',
      parameters: { lr: 0.5 },
      secretNames: ['HF_TOKEN'],
    });
    expect(manifest.attempts[0]).toMatchObject({ workerName: 'gpu-box', nodeVersion: 'v20.19.0', assigned: { gpus: ['0'] } });

    const missing = await outpost('runs', 'manifest', 'no-such-run');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no run is named "no-such-run"');
  });
});

describe('outpost runs reproduce', () => {
  test('creates a run of the original version and parameters, prints its id and dashboard page, and both manifests link the runs', async () => {
    const made = await outpost('runs', 'reproduce', NAME);
    expect(made.code).toBe(0);
    const id = made.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const copy = unwrap(await api.owner.call('flowRunsGet', { params: { id } }));
    expect(copy.reproducedFromId).toBe(original.id);
    expect(copy.deploymentVersionId).toBe(original.deploymentVersionId);
    expect(copy.parameters).toEqual({ lr: 0.5 });
    expect(made.stderr).toContain(`created run ${copy.name} of train/gpu`);
    expect(made.stderr).toContain(`reproducing ${NAME} on code ${DIGEST}`);
    expect(made.stderr).toContain(`dashboard: ${new URL(api.server.url).origin}/#/runs/${id}`);
    // Not a terminal: plain text, no spinner, no colour.
    expect(made.stderr).not.toContain('\u001b');

    const copyManifest = await outpost('runs', 'manifest', id);
    expect(copyManifest.stdout).toContain(`reproduces:   ${NAME} (${original.id})`);
    expect(copyManifest.stdout).toContain('entrypoint:   flows/train.js');
    const originalManifest = await outpost('runs', 'manifest', original.id);
    expect(originalManifest.stdout).toMatch(
      new RegExp(`reproduced by:\\n {2}NAME\\s+ID\\s+CREATED \\(UTC\\)\\n {2}${copy.name}\\s+${id}\\s`),
    );
  });

  test('takes a name for the new run, and prints the new run as JSON with --json', async () => {
    const name = `${NAME}-again`;
    const made = await outpost('runs', 'reproduce', original.id, '--name', name, '--json');
    expect(made.code).toBe(0);
    const copy = JSON.parse(made.stdout) as FlowRun;
    expect(copy).toMatchObject({ name, reproducedFromId: original.id, parameters: { lr: 0.5 } });
    expect(made.stderr).toBe('');
  });

  test('a retry of a reproduction, named by its name, prints the dashboard page of the run', async () => {
    const name = `${NAME}-retried`;
    const { flowRun } = unwrap(await api.owner.call('flowRunsReproduce', { params: { id: original.id }, body: { name } }));
    unwrap(await api.owner.call('flowRunsCancel', { params: { id: flowRun.id }, body: { transitionId: randomUUID() } }));
    const retried = await outpost('runs', 'retry', name);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toBe(`run ${flowRun.id} is SCHEDULED (AwaitingRetry), attempt 2\n`);
    expect(retried.stderr).toBe(`dashboard: ${new URL(api.server.url).origin}/#/runs/${flowRun.id}\n`);
  });
});
