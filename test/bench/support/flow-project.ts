import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestServer } from '@outpost/api/testing';
import { repoRoot, runCli } from '../../support/processes.js';

/**
 * A project `outpost deploy` deploys from, in `<scratch>/project`: the workspace's node_modules
 * linked in, an ESM package.json, `config` as outpost.config.ts and each of `flows` (file name to
 * source) under flows/. Its code goes to an OCI layout in `<scratch>/registry`. Returns the project
 * folder and the environment its CLI commands run with.
 */
export async function writeFlowProject(
  server: Pick<TestServer, 'url' | 'ownerKey'>,
  scratch: string,
  config: string,
  flows: Record<string, string>,
): Promise<{ project: string; env: Record<string, string> }> {
  const project = join(scratch, 'project');
  await mkdir(join(project, 'flows'), { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(project, 'node_modules'), 'dir');
  await writeFile(join(project, 'package.json'), '{ "type": "module" }\n');
  await writeFile(join(project, 'outpost.config.ts'), config);
  for (const [file, source] of Object.entries(flows)) await writeFile(join(project, 'flows', file), source);
  const env = {
    OUTPOST_API_URL: server.url,
    OUTPOST_API_KEY: server.ownerKey,
    OUTPOST_REGISTRY: `oci-layout://${join(scratch, 'registry')}`,
  };
  return { project, env };
}

/** Runs `outpost <args>` in the project, and fails the bench with its output when it fails. */
export async function cliInProject(args: string[], env: Record<string, string>, cwd: string): Promise<void> {
  const done = await runCli(args, env, cwd);
  if (done.code !== 0) throw new Error(`outpost ${args[0]} failed:\n${done.output}`);
}
