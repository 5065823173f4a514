import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultStorageExecArgv } from '../src/results/exec-argv.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { S3TestServer } from './support/s3-server.js';

const run = promisify(execFile);

const KEY = { accessKeyId: 'AKIACHAINTEST', secretAccessKey: 'chain/test/secret+key' };

/**
 * Where a flow process finds S3 credentials when the worker's environment has no access keys: the
 * AWS SDK's provider chain, exercised in real flow processes against servers on 127.0.0.1 that speak
 * the instance metadata (IMDSv2) and STS protocols. The S3 server checks every signature with the
 * key the chain should have found.
 */
describe('S3 result storage credentials from the AWS chain', () => {
  let s3: S3TestServer;
  let home: string;
  let metadata: Server;
  let metadataUrl = '';
  const metadataCalls: string[] = [];

  beforeAll(async () => {
    s3 = new S3TestServer(KEY, ['results']);
    await s3.start();
    home = mkdtempSync(join(tmpdir(), 'outpost-aws-home-'));
    // EC2 instance metadata, version 2: a session token first, then the role and its credentials.
    metadata = createServer((req: IncomingMessage, res) => {
      metadataCalls.push(`${req.method} ${req.url}`);
      if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('imds-session-token');
      if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-session-token') {
        res.statusCode = 401;
        return res.end();
      }
      if (req.url === '/latest/meta-data/iam/security-credentials/') return res.end('worker-role');
      if (req.url === '/latest/meta-data/iam/security-credentials/worker-role') {
        res.setHeader('content-type', 'application/json');
        return res.end(
          JSON.stringify({
            Code: 'Success',
            AccessKeyId: KEY.accessKeyId,
            SecretAccessKey: KEY.secretAccessKey,
            Token: 'instance-session-token',
            Expiration: new Date(Date.now() + 3_600_000).toISOString(),
          }),
        );
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
    metadataUrl = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await s3.close();
    await new Promise((resolve) => metadata.close(resolve));
    rmSync(home, { recursive: true, force: true });
    await expectNoLiveChildren();
  });

  const url = () => `s3://results/chain?endpoint=${encodeURIComponent(s3.url)}&region=eu-west-1`;

  /** Writes one result from a real flow process with `env` (and no access key variables) and reads the outcome. */
  async function writeFromFlowProcess(key: string, env: Record<string, string>) {
    const script = `
      import { resultStorageFromEnv } from '@outpost/sdk/runtime';
      try {
        const { ref } = await resultStorageFromEnv().write(${JSON.stringify(key)}, new TextEncoder().encode('chained'), { expiresAt: null });
        process.stdout.write(ref);
      } catch (error) {
        process.stdout.write('ERROR ' + error.message);
      }
    `;
    const { stdout } = await run(process.execPath, [...resultStorageExecArgv(url()), '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH ?? '', HOME: home, OUTPOST_RESULT_STORAGE: url(), AWS_EC2_METADATA_DISABLED: 'true', ...env },
    });
    return stdout;
  }

  it('uses a named profile from the shared credentials file', async () => {
    const aws = join(home, 'profile');
    mkdirSync(aws, { recursive: true });
    writeFileSync(
      join(aws, 'credentials'),
      `[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n\n[pipelines]\naws_access_key_id = ${KEY.accessKeyId}\naws_secret_access_key = ${KEY.secretAccessKey}\n`,
    );
    const out = await writeFromFlowProcess('from-profile', {
      AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials'),
      AWS_CONFIG_FILE: join(aws, 'config-none'),
      AWS_PROFILE: 'pipelines',
    });
    expect(out).toBe('s3://results/chain/from-profile');
    expect(new TextDecoder().decode(s3.objects.get('results/chain/from-profile')?.body)).toBe('chained');
  });

  it('falls back to instance metadata, with the session token it hands out', async () => {
    const refused = s3.refused;
    const out = await writeFromFlowProcess('from-instance', {
      AWS_EC2_METADATA_DISABLED: 'false',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: metadataUrl,
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
      AWS_CONFIG_FILE: join(home, 'none'),
    });
    expect(out).toBe('s3://results/chain/from-instance');
    expect(s3.refused).toBe(refused);
    expect(metadataCalls).toEqual(
      expect.arrayContaining([
        'PUT /latest/api/token',
        'GET /latest/meta-data/iam/security-credentials/',
        'GET /latest/meta-data/iam/security-credentials/worker-role',
      ]),
    );
  });

  it('assumes a role with a web identity token, as a Kubernetes service account gives one', async () => {
    const tokenFile = join(home, 'web-identity-token');
    writeFileSync(tokenFile, 'service-account-jwt');
    const sts = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        stsCalls.push({ action: form.get('Action'), role: form.get('RoleArn'), token: form.get('WebIdentityToken') });
        res.setHeader('content-type', 'text/xml');
        res.end(
          `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${KEY.accessKeyId}</AccessKeyId><SecretAccessKey>${KEY.secretAccessKey}</SecretAccessKey><SessionToken>web-session</SessionToken><Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/pipelines/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
        );
      });
    });
    const stsCalls: { action: string | null; role: string | null; token: string | null }[] = [];
    await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
    try {
      const out = await writeFromFlowProcess('from-web-identity', {
        AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/pipelines',
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${(sts.address() as AddressInfo).port}`,
        AWS_REGION: 'eu-west-1',
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
        AWS_CONFIG_FILE: join(home, 'none'),
      });
      expect(out).toBe('s3://results/chain/from-web-identity');
      expect(stsCalls).toEqual([
        { action: 'AssumeRoleWithWebIdentity', role: 'arn:aws:iam::123456789012:role/pipelines', token: 'service-account-jwt' },
      ]);
    } finally {
      await new Promise((resolve) => sts.close(resolve));
    }
  });

  it('says in one line where it looked when no credentials are found', async () => {
    const out = await writeFromFlowProcess('nothing', {
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
      AWS_CONFIG_FILE: join(home, 'none'),
    });
    expect(out).toMatch(
      /^ERROR S3 result storage found no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile \(AWS_PROFILE\), web identity/,
    );
    expect(s3.objects.has('results/chain/nothing')).toBe(false);
  });
});
