import { createSignInLink } from '@outpost/api';
import { seedFinishedRun } from '@outpost/api/testing';
import { unwrap } from '@outpost/sdk/client';
import type { FlowRun } from '@outpost/sdk/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, useDashboard } from '../support/dashboard.js';

const dashboard = useDashboard({ loops: false });
let original: FlowRun;
const policy = new PolicyWatch();
const DIGEST = `sha256:${'e'.repeat(64)}`;
const SOURCE = `oci://127.0.0.1:5000/acme/flows@${DIGEST}`;
const IMAGE_DIGEST = `sha256:${'f'.repeat(64)}`;

/**
 * A run of a GPU deployment that reads a secret, claimed by a worker advertising four devices,
 * which reports where the attempt runs (a Kubernetes executor, an image and its digest) and
 * finishes it; then the deployment is redeployed with another entrypoint, as happens before
 * someone reproduces an old run.
 */
beforeAll(async () => {
  original = await seedFinishedRun(dashboard.server, dashboard.owner, {
    worker: { name: 'gpu-box-1', gpus: 4, gpuModel: 'NVIDIA A100-SXM4-80GB', memoryGb: 512, cpus: 64 },
    deployment: {
      source: SOURCE,
      parameters: { epochs: 3 },
      resources: { gpus: 2 },
      jobVariables: { image: 'registry.internal/train:1.4', env: { WANDB_KEY: { $secret: 'WANDB_KEY' } } },
    },
    run: { parameters: { epochs: 12, lr: 0.003 } },
    environment: {
      workerVersion: '0.1.0',
      executor: 'kubernetes',
      nodeVersion: 'v20.19.0',
      image: 'registry.internal/train:1.4',
      imageDigest: IMAGE_DIGEST,
    },
    redeploy: { entrypoint: 'flows/train-v2.js' },
  });
}, 120_000);

async function signedIn(role: 'owner' | 'viewer'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await dashboard.browser.newContext({ viewport: { width: 1360, height: 860 } });
  const page = policy.watch(await context.newPage());
  const link = await createSignInLink(dashboard.server.sql, { workspaceId: dashboard.server.workspaceId, role });
  await page.goto(`${dashboard.server.url}${link.path}`);
  await page.getByTestId('workspace-name').getByText('Default').waitFor();
  return { context, page };
}

describe('the run manifest and Reproduce on the run page', () => {
  it('shows what the run ran and where, and Reproduce opens a new run of the same version that links back to it', async () => {
    const { context, page } = await signedIn('owner');
    try {
      await page.goto(`${dashboard.server.url}/#/runs/${original.id}`);
      const manifest = page.getByTestId('run-manifest');
      // Folded, it says what matters in a line; opened, everything.
      await manifest
        .getByTestId('run-manifest-line')
        .getByText(`code ${DIGEST.slice(0, 19)} · flows/train.js · 1 secret · 1 attempt`)
        .waitFor();
      expect(await manifest.getByTestId('manifest-attempt').isVisible()).toBe(false);
      await manifest.getByTestId('run-manifest-toggle').click();
      await manifest.getByTestId('manifest-attempt').waitFor();
      expect(await manifest.getByTestId('manifest-code-digest').textContent()).toBe(DIGEST);
      expect(await manifest.getByTestId('manifest-source').textContent()).toBe(SOURCE);
      expect(await manifest.getByTestId('manifest-entrypoint').textContent()).toBe('flows/train.js');
      expect(await manifest.getByTestId('manifest-secrets').textContent()).toBe('WANDB_KEY');
      expect(JSON.parse((await manifest.getByTestId('manifest-parameters').textContent()) ?? '')).toEqual({
        epochs: 12,
        lr: 0.003,
      });
      expect(JSON.parse((await manifest.getByTestId('manifest-job-variables').textContent()) ?? '')).toEqual({
        image: 'registry.internal/train:1.4',
        env: { WANDB_KEY: { $secret: 'WANDB_KEY' } },
      });
      const attempt = manifest.locator('[data-testid="manifest-attempt"][data-attempt="1"]');
      expect(await attempt.getByTestId('manifest-worker').textContent()).toBe('gpu-box-1');
      expect(await attempt.getByTestId('manifest-executor').textContent()).toBe('kubernetes');
      expect(await attempt.getByTestId('manifest-worker-version').textContent()).toBe('0.1.0');
      expect(await attempt.getByTestId('manifest-node-version').textContent()).toBe('v20.19.0');
      expect(await attempt.getByTestId('manifest-image').textContent()).toBe('registry.internal/train:1.4');
      expect(await attempt.getByTestId('manifest-image-digest').getAttribute('title')).toBe(IMAGE_DIGEST);
      expect(await attempt.getByTestId('manifest-gpu').allTextContents()).toEqual(['GPU 0', 'GPU 1']);
      expect(await page.getByTestId('run-reproduced-from').count()).toBe(0);
      await attempt.scrollIntoViewIfNeeded();
      await screenshot(page, 'run-manifest');

      await page.getByTestId('run-reproduce').click();
      await page.waitForURL((url) => /#\/runs\/[0-9a-f-]{36}$/.test(url.hash) && !url.hash.endsWith(original.id));
      const copyId = page.url().split('/').at(-1) ?? '';
      const link = page.getByTestId('run-reproduced-from-link');
      await link.waitFor();
      expect(await link.textContent()).toBe(original.name);
      expect(await link.getAttribute('href')).toBe(`#/runs/${original.id}`);
      // The reproduction runs the original's version, not the redeployed one.
      await page.getByTestId('run-manifest-line').getByText('flows/train.js', { exact: false }).waitFor();
      await page.getByTestId('run-manifest-toggle').click();
      await page.getByTestId('manifest-entrypoint').getByText('flows/train.js').waitFor();
      expect(JSON.parse((await page.getByTestId('manifest-parameters').textContent()) ?? '')).toEqual({ epochs: 12, lr: 0.003 });
      const copy = unwrap(await dashboard.owner.call('flowRunsGet', { params: { id: copyId } }));
      expect(copy).toMatchObject({ reproducedFromId: original.id, deploymentVersionId: original.deploymentVersionId });
      await screenshot(page, 'run-reproduction');

      // Back on the original, it lists its reproduction.
      await link.click();
      await page.getByTestId('run-manifest-line').getByText('reproduced 1×', { exact: false }).waitFor();
      await page.getByTestId('run-manifest-toggle').click();
      const reproduction = page.locator(`[data-testid="run-reproduction"][data-run-id="${copyId}"]`);
      await reproduction.waitFor();
      expect(await reproduction.textContent()).toBe(copy.name);
      expect(policy.violations).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows a viewer the manifest but no Reproduce button', async () => {
    const { context, page } = await signedIn('viewer');
    try {
      await page.goto(`${dashboard.server.url}/#/runs/${original.id}`);
      await page.getByTestId('run-manifest-toggle').click();
      await page.getByTestId('run-manifest').getByTestId('manifest-attempt').waitFor();
      expect(await page.locator('.role').textContent()).toBe('viewer');
      expect(await page.getByTestId('run-reproduce').count()).toBe(0);
      expect(await page.getByTestId('run-retry').count()).toBe(0);
      await screenshot(page, 'run-manifest-viewer');
      expect(policy.violations).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
