import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { outpostOn, writeProject } from './cli.support.js';

let server: TestServer;
let project: string;

function outpost(args: string[]) {
  return outpostOn(server, args, { cwd: project });
}

function config(schedules: string): string {
  return `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'greet',
  registry: 'oci-layout:./registry',
  deployments: [{ flow: 'greet', name: 'default', entrypoint: 'flows/greet.ts', schedules: ${schedules} }],
});
`;
}

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  project = await writeProject(await mkdtemp(join(tmpdir(), 'outpost-schedules-cli-')), {
    'flows/greet.ts': `import { flow, z } from '@outpost/sdk';
export const f = flow({ name: 'greet', params: z.object({ who: z.string().default('world') }) }, async ({ who }) => \`hi \${who}\`);
`,
  });
});
afterAll(async () => {
  await server?.close();
  if (project) await rm(project, { recursive: true, force: true });
});

test('schedules declared in outpost.config.ts are deployed, listed, replaced on redeploy, and the deployment pauses and resumes', async () => {
  await writeFile(
    join(project, 'outpost.config.ts'),
    config(`[
      { slug: 'nightly', cron: '30 2 * * *', timezone: 'America/New_York', parameters: { who: 'night' } },
      { intervalSeconds: 900, catchup: 'none' },
    ]`),
  );
  const deployed = await outpost(['deploy']);
  expect(deployed.stderr).not.toMatch(/error/i);
  expect(deployed.code).toBe(0);

  const listed = await outpost(['schedules', 'ls', 'greet/default', '--json']);
  expect(listed.code).toBe(0);
  const schedules = JSON.parse(listed.stdout) as {
    slug: string;
    cron: string | null;
    timezone: string | null;
    catchup: string;
  }[];
  expect(schedules.map((s) => [s.slug.replace(/-[0-9a-f]{12}$/, '-…'), s.cron, s.timezone, s.catchup])).toEqual([
    ['nightly', '30 2 * * *', 'America/New_York', 'latest'],
    ['interval-…', null, null, 'none'],
  ]);
  const table = await outpost(['schedules', 'ls', 'greet/default']);
  expect(table.stdout).toContain('cron 30 2 * * * (America/New_York)');

  await writeFile(
    join(project, 'outpost.config.ts'),
    config(`[{ slug: 'nightly', cron: '30 2 * * *', timezone: 'America/New_York' }]`),
  );
  expect((await outpost(['deploy'])).code).toBe(0);
  const after = JSON.parse((await outpost(['schedules', 'ls', 'greet/default', '--json'])).stdout) as { slug: string }[];
  expect(after.map((s) => s.slug)).toEqual(['nightly']);

  const paused = await outpost(['deployments', 'pause', 'greet/default']);
  expect(paused.stdout.trim()).toBe('deployment greet/default is paused');
  expect((await outpost(['schedules', 'ls', 'greet/default'])).stdout).toMatch(/nightly\s+paused/);
  const resumed = await outpost(['deployments', 'resume', 'greet/default']);
  expect(resumed.stdout.trim()).toBe('deployment greet/default is active');

  await writeFile(join(project, 'outpost.config.ts'), config(`[{ cron: 'every day' }]`));
  const invalid = await outpost(['deploy', '--dry-run']);
  expect(invalid.code).not.toBe(0);
  expect(invalid.stderr).toContain('deployments.0.schedules.0');
  // Three deploys, each bundling and type-checking the project, among ten CLI processes: past the
  // suite's 60 s default on a loaded 2-core machine with two other files beside it.
}, 180_000);

test('the retry and concurrency settings of a deployment in outpost.config.ts reach the deployment', async () => {
  await writeFile(
    join(project, 'outpost.config.ts'),
    `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'greet',
  registry: 'oci-layout:./registry',
  deployments: [{
    flow: 'greet', name: 'tuned', entrypoint: 'flows/greet.ts',
    retries: 3, retryDelaySeconds: 30, retryBackoff: 2, retryJitter: 0.2,
    concurrencyLimit: 2, collisionStrategy: 'CANCEL_NEW',
  }],
});
`,
  );
  const deployed = await outpost(['deploy']);
  expect(deployed.code, deployed.stderr).toBe(0);
  const res = await fetch(`${server.url}/api/v1/deployments?limit=100`, {
    headers: { authorization: `Bearer ${server.ownerKey}` },
  });
  const items = ((await res.json()) as { items: Record<string, unknown>[] }).items;
  expect(items.find((d) => d.name === 'tuned')).toMatchObject({
    retries: 3,
    retryDelaySeconds: 30,
    retryBackoff: 2,
    retryJitter: 0.2,
    concurrencyLimit: 2,
    collisionStrategy: 'CANCEL_NEW',
  });

  // A value out of range stops the deploy with the field's path.
  await writeFile(
    join(project, 'outpost.config.ts'),
    `import { defineConfig } from '@outpost/sdk';
export default defineConfig({ project: 'greet', registry: 'oci-layout:./registry', deployments: [{ flow: 'greet', name: 'tuned', entrypoint: 'flows/greet.ts', retryJitter: 3 }] });
`,
  );
  const refused = await outpost(['deploy']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('deployments.0.retryJitter');
});
