import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI } from './cli.support.js';

const run = promisify(execFile);
// The CLI as users run it: the built bin of the installed @outpost/sdk, in a process of its own.

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
});
afterAll(async () => {
  await server?.close();
});

async function outpost(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey },
    timeout: 30_000,
  });
}

describe('outpost users and audit', () => {
  test('adds a person (printing the setup token once), lists, changes the role, and shows it all in the audit log', async () => {
    const added = await outpost('users', 'add', 'cli-person@example.com', '--role', 'viewer', '--name', 'Cli Person');
    expect(added.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(added.stderr).toContain('added cli-person@example.com as viewer');
    expect(added.stderr).toContain('a new account, managed by this workspace');
    expect(added.stderr).toContain('No email server is configured');
    const listed = JSON.parse((await outpost('users', 'ls', '--json')).stdout) as {
      userId: string;
      email: string;
      role: string;
    }[];
    const person = listed.find((m) => m.email === 'cli-person@example.com');
    expect(person?.role).toBe('viewer');
    await outpost('users', 'set-role', person?.userId ?? '', '--role', 'runner');
    expect((await outpost('users', 'ls')).stdout).toMatch(/cli-person@example\.com\s+Cli Person\s+runner/);
    const reset = await outpost('users', 'reset-password', person?.userId ?? '');
    expect(reset.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await outpost('users', 'rm', person?.userId ?? '');

    const lines = (await outpost('audit', 'export', '--object', person?.userId ?? '')).stdout.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { action: string }).action)).toEqual([
      'membersRemove',
      'membersSetupToken',
      'membersUpdate',
      'membersAdd',
    ]);
    const table = (await outpost('audit', 'ls', '--action', 'membersAdd')).stdout;
    expect(table).toMatch(/api_key:owner\s+membersAdd\s+201/);
    // The setup tokens the CLI printed never reached the log.
    expect(lines.join('\n')).not.toContain(added.stdout.trim());
  });

  test('adding an address that already has an account invites it and prints no token', async () => {
    const other = await server.createWorkspace();
    const res = await fetch(`${server.url}/api/v1/members`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.ownerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'shared-person@example.com', role: 'viewer' }),
    });
    expect(res.status).toBe(201);
    const invited = await outpost('users', 'add', 'shared-person@example.com', '--role', 'runner');
    expect(invited.stdout).toBe('');
    expect(invited.stderr).toContain('invited shared-person@example.com as runner');
    expect(invited.stderr).toContain('grants nothing until the person accepts');
    expect(invited.stderr).toContain('some other way');
    expect((await outpost('users', 'ls')).stdout).toMatch(/shared-person@example\.com\s+-\s+runner\s+invited\s+unverified\s+-/);
  });

  test('refuses a role that does not exist before calling the API', async () => {
    const failed = await outpost('users', 'add', 'x@example.com', '--role', 'root').catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stderr: string }).stderr).toContain('--role must be one of owner, admin, developer, runner, viewer');
  });
});
