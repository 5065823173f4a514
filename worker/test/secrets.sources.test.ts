import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions, splitCommand } from '../src/options.js';
import { JobConfigError, resolveJobVariables, SecretResolver, type SecretSettings } from '../src/secrets.js';
import { tearDown } from './support/leaks.js';

describe('secret sources', () => {
  let dir: string;
  let secretsDir: string;
  let command: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-secrets-'));
    secretsDir = join(dir, 'mounted');
    // The layout Kubernetes uses for a mounted secret: keys are symlinks into a timestamped directory.
    mkdirSync(join(secretsDir, '..2025_01_01'), { recursive: true });
    writeFileSync(join(secretsDir, '..2025_01_01', 'DB_PASSWORD'), 'from-the-directory\n');
    writeFileSync(join(secretsDir, '..2025_01_01', 'api-token'), 'dashed-name-value');
    symlinkSync('..2025_01_01', join(secretsDir, '..data'));
    symlinkSync(join('..data', 'DB_PASSWORD'), join(secretsDir, 'DB_PASSWORD'));
    symlinkSync(join('..data', 'api-token'), join(secretsDir, 'api-token'));
    command = join(dir, 'vault-get');
    // A stand-in for a vault CLI: knows two secrets, hangs on one, fails on the rest.
    writeFileSync(
      command,
      `#!/bin/sh
case "$2" in
  HF_TOKEN) printf '  hf_from_the_command\\n' ;;
  DB_PASSWORD) echo from-the-command ;;
  SLOW) exec sleep 30 ;;
  *) echo "no such secret $2; token=$VAULT_TOKEN; key=$OUTPOST_API_KEY" >&2; exit 2 ;;
esac
`,
    );
    chmodSync(command, 0o755);
  });

  afterAll(() => tearDown(dir));

  const workerEnv = { PATH: process.env.PATH ?? '', DB_PASSWORD: 'from-the-env', VAULT_TOKEN: 'v-123', OUTPOST_API_KEY: 'op_x' };
  const settings = (order: SecretSettings['order'], timeoutMs = 2_000): SecretSettings => ({
    order,
    dir: secretsDir,
    command: [command, 'read', '{name}'],
    timeoutMs,
  });

  it('takes the first source that has the secret, in the configured order', async () => {
    expect(await new SecretResolver(settings(['env', 'dir', 'command']), workerEnv).resolve('DB_PASSWORD')).toBe('from-the-env');
    expect(await new SecretResolver(settings(['dir', 'env', 'command']), workerEnv).resolve('DB_PASSWORD')).toBe(
      'from-the-directory',
    );
    expect(await new SecretResolver(settings(['command', 'dir']), workerEnv).resolve('DB_PASSWORD')).toBe('from-the-command');
    expect(await new SecretResolver(settings(['env', 'dir', 'command']), workerEnv).resolve('HF_TOKEN')).toBe(
      'hf_from_the_command',
    );
    expect(await new SecretResolver(settings(['env', 'dir']), workerEnv).resolve('api-token')).toBe('dashed-name-value');
  });

  it('fails naming the secret and why each source did not have it, without any value or command output', async () => {
    const error = await new SecretResolver(settings(['env', 'dir', 'command']), workerEnv).resolve('MISSING').catch((e) => e);
    expect(error).toBeInstanceOf(JobConfigError);
    const message = (error as Error).message;
    expect(message).toContain('secret "MISSING" was not found on the worker');
    expect(message).toContain("not set in the worker's environment");
    expect(message).toContain(`no file MISSING in ${secretsDir}`);
    expect(message).toContain('exited with code 2');
    expect(message).not.toContain('v-123');
    expect(message).not.toContain('op_x');
  });

  it('gives up on a secrets command that does not answer within the timeout', async () => {
    const started = Date.now();
    const error = await new SecretResolver(settings(['command'], 300), workerEnv).resolve('SLOW').catch((e) => e);
    expect((error as Error).message).toContain('did not answer within 0.3 s');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('never reads outside the secrets directory or the worker configuration', async () => {
    const resolver = new SecretResolver(settings(['dir', 'env']), workerEnv);
    for (const name of ['../mounted/DB_PASSWORD', '..data', '.hidden', 'a/b']) {
      await expect(resolver.resolve(name)).rejects.toThrow(/not a valid secret name/);
    }
    await expect(resolver.resolve('OUTPOST_API_KEY')).rejects.toThrow(/reserved/);
  });

  it('resolves each referenced secret once per run and returns every value for redaction', async () => {
    const asked: string[] = [];
    const resolved = await resolveJobVariables(
      { env: { A: { $secret: 'S1' }, B: { $secret: 'S1' }, C: { $secret: 'S2' }, MODE: 'x' } },
      (name) => {
        asked.push(name);
        return `value-of-${name}`;
      },
    );
    expect(asked).toEqual(['S1', 'S2']);
    expect(resolved.env).toEqual({ A: 'value-of-S1', B: 'value-of-S1', C: 'value-of-S2', MODE: 'x' });
    expect(resolved.secretValues.sort()).toEqual(['value-of-S1', 'value-of-S2']);
  });

  it('reads the secret settings from flags and the environment', () => {
    const base = { OUTPOST_API_URL: 'http://127.0.0.1:1', OUTPOST_API_KEY: 'op_0123456789', HOME: '/h' };
    const o = parseOptions(['--pool', 'p', '--secrets-dir', '/run/secrets', '--secrets-command', "vault-get 'kv/{name}'"], base);
    expect(o.secretsDir).toBe('/run/secrets');
    expect(o.secretsCommand).toEqual(['vault-get', 'kv/{name}']);
    expect(o.secretsOrder).toEqual(['env', 'dir', 'command']);
    expect(o.secretsTimeoutMs).toBe(10_000);
    expect(parseOptions(['--pool', 'p'], base).secretsOrder).toEqual(['env']);
    expect(parseOptions(['--pool', 'p', '--secrets-dir', '/s', '--secrets-order', 'dir,env'], base).secretsOrder).toEqual([
      'dir',
      'env',
    ]);
    expect(() => parseOptions(['--pool', 'p', '--secrets-order', 'command'], base)).toThrow(/--secrets-command is not set/);
    expect(() => parseOptions(['--pool', 'p', '--secrets-order', 'env,env'], base)).toThrow(/listed twice/);
    expect(splitCommand(`get --path "a b" c\\ d 'e"f'`)).toEqual(['get', '--path', 'a b', 'c d', 'e"f']);
  });
});
