import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, outpost, startWhoamiServer } from './cli.support.js';

describe('configuration precedence: flag > environment > .env', () => {
  let api: Awaited<ReturnType<typeof startWhoamiServer>>;
  let dir: string;
  let deadUrl: string;

  beforeAll(async () => {
    api = await startWhoamiServer();
    dir = await mkdtemp(join(tmpdir(), 'outpost-cli-settings-'));
    deadUrl = `http://127.0.0.1:${await closedPort()}`;
  });
  afterAll(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function whoamiWith(dotenv: string, env: Record<string, string>, flags: string[] = []) {
    await writeFile(join(dir, '.env'), dotenv);
    const before = api.requests.length;
    const result = await outpost(['whoami', ...flags], { cwd: dir, env });
    return { result, sent: api.requests.slice(before) };
  }

  it('uses the URL and key from .env when nothing else sets them', async () => {
    const { result, sent } = await whoamiWith(`OUTPOST_API_URL=${api.url}\nOUTPOST_API_KEY="op_from_dotenv" # comment\n`, {});
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('acme');
    expect(sent.map((r) => r.authorization)).toEqual(['Bearer op_from_dotenv']);
  });

  it('prefers the environment over .env', async () => {
    const { result, sent } = await whoamiWith(`OUTPOST_API_URL=${deadUrl}\nOUTPOST_API_KEY=op_from_dotenv\n`, {
      OUTPOST_API_URL: api.url,
      OUTPOST_API_KEY: 'op_from_env',
    });
    expect(result.code).toBe(0);
    expect(sent.map((r) => r.authorization)).toEqual(['Bearer op_from_env']);
  });

  it('prefers flags over the environment and .env', async () => {
    const { result, sent } = await whoamiWith(
      `OUTPOST_API_URL=${deadUrl}\nOUTPOST_API_KEY=op_from_dotenv\n`,
      { OUTPOST_API_URL: deadUrl, OUTPOST_API_KEY: 'op_from_env' },
      ['--api-url', api.url, '--api-key', 'op_from_flag'],
    );
    expect(result.code).toBe(0);
    expect(sent.map((r) => r.authorization)).toEqual(['Bearer op_from_flag']);
  });

  it('accepts global options before the command words', async () => {
    await writeFile(join(dir, '.env'), '');
    const before = api.requests.length;
    const flagged = await outpost(['--api-url', api.url, `--api-key=op_leading`, 'whoami', '--json'], { cwd: dir });
    expect(flagged.code).toBe(0);
    expect(JSON.parse(flagged.stdout)).toMatchObject({ apiUrl: api.url, workspace: { slug: 'acme' } });
    expect(api.requests.slice(before).map((r) => r.authorization)).toEqual(['Bearer op_leading']);
  });

  it('reports an unreachable API from .env with exit code 3', async () => {
    const { result } = await whoamiWith(`OUTPOST_API_URL=${deadUrl}\nOUTPOST_API_KEY=op_x\n`, {});
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`cannot reach the API at ${deadUrl}`);
  });
});
