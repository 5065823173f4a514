import { createHash } from 'node:crypto';
import { asset, check, materialize, partitions, s3IO } from '@outpost/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3TestServer } from './support/s3-server.js';

// Real HTTP to a local server that checks every request's Signature V4 with its own implementation.
describe('s3IO: asset values in an S3-compatible bucket', () => {
  const credentials = { accessKeyId: 'AKIAASSETSTEST01', secretAccessKey: 'assets/s3+secret' };
  let server: S3TestServer;

  beforeAll(async () => {
    server = new S3TestServer(credentials, ['lake']);
    await server.start();
  });

  afterAll(async () => {
    await server.close();
  });

  const io = <T>() =>
    s3IO<T>({ bucket: 'lake', prefix: '/warehouse/', endpoint: server.url, region: 'eu-central-1', credentials });
  const body = (key: string) => server.objects.get(`lake/${key}`)?.body.toString('utf8');

  it('stores each partition under <prefix>/<asset key>/partition=<key>/data.json and reads it back for downstream', async () => {
    const regions = partitions.static(['eu/west', 'us']);
    const events = asset({ key: 's3/raw/events', partitions: regions, io: io<{ region: string; n: number }>() }, (ctx) => ({
      region: ctx.partition.key,
      n: 3,
    }));
    const counts = asset({ key: 's3/counts', deps: [events], partitions: regions, io: io<number>() }, (_ctx, e) => e.n * 2);

    const first = await materialize([events], { partition: 'eu/west' });
    const stored = body('warehouse/s3/raw/events/partition=eu%2Fwest/data.json');
    expect(stored).toBe('{"region":"eu/west","n":3}');
    expect(first.events[0]).toMatchObject({
      kind: 'materialization',
      partitionKey: 'eu/west',
      dataVersion: createHash('sha256')
        .update(stored as string)
        .digest('hex'),
      metadata: { bytes: stored?.length, uri: 's3://lake/warehouse/s3/raw/events/partition=eu%2Fwest/data.json' },
    });
    expect(events.definition().io).toBe('s3');

    // A later run of the downstream alone reads the upstream from the bucket.
    const second = await materialize([counts], { partition: 'eu/west' });
    expect(second.valueOf(counts, 'eu/west')).toBe(6);
    expect(body('warehouse/s3/counts/partition=eu%2Fwest/data.json')).toBe('6');
  });

  it('write-audit-publish: stages, checks the staged object, and publishes with a server-side copy only what passes', async () => {
    let next = [1, 2];
    const scores = asset(
      {
        key: 's3/scores',
        io: io<number[]>(),
        checks: [check('small', { blocking: true }, (v: number[]) => v.every((n) => n < 10))],
      },
      () => next,
    );
    await materialize([scores]);
    expect(body('warehouse/s3/scores/data.json')).toBe('[1,2]');

    next = [1, 50];
    const refused = await materialize([scores], { throwOnFailure: false });
    expect(refused.events.map((e) => e.kind)).toEqual(['check', 'failure']);
    expect(body('warehouse/s3/scores/data.json')).toBe('[1,2]');
    // Neither run left a staged object behind.
    expect([...server.objects.keys()].filter((k) => k.includes('.staging'))).toEqual([]);
  });

  it('fails the asset with the server’s refusal when the secret is wrong, and writes nothing', async () => {
    const wrong = s3IO({
      bucket: 'lake',
      prefix: 'warehouse',
      endpoint: server.url,
      credentials: { ...credentials, secretAccessKey: 'not-the-secret' },
    });
    const refusedBefore = server.refused;
    const denied = asset({ key: 's3/denied', io: wrong }, () => 'x');
    const result = await materialize([denied], { throwOnFailure: false });
    expect(server.refused).toBeGreaterThan(refusedBefore);
    expect(result.events).toEqual([
      expect.objectContaining({
        kind: 'failure',
        message: 'S3Error: S3 PUT warehouse/s3/denied/data.json failed: 403 SignatureDoesNotMatch',
      }),
    ]);
    expect(server.objects.has('lake/warehouse/s3/denied/data.json')).toBe(false);
  });

  it('reads credentials from the environment or the AWS chain only when it first writes, and says where it looked', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    // Nothing else in the AWS chain either: no profile files, and no instance metadata to ask.
    const chain = ['AWS_EC2_METADATA_DISABLED', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_PROFILE'] as const;
    const savedChain = chain.map((name) => process.env[name]);
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/outpost-test/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/outpost-test/config';
    delete process.env.AWS_PROFILE;
    try {
      // Defining the asset needs no credentials (outpost deploy imports modules without them).
      const envIO = s3IO({ bucket: 'lake', endpoint: server.url });
      const fromEnv = asset({ key: 's3/from-env', io: envIO }, () => 1);
      const result = await materialize([fromEnv], { throwOnFailure: false });
      expect(result.events[0]).toMatchObject({
        message: expect.stringMatching(
          /^s3IO found no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile/,
        ),
      });
      process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
      const again = await materialize([
        asset({ key: 's3/from-env-2', io: s3IO({ bucket: 'lake', endpoint: server.url }) }, () => 2),
      ]);
      expect(again.success).toBe(true);
      expect(body('s3/from-env-2/data.json')).toBe('2');
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      chain.forEach((name, i) => {
        const value = savedChain[i];
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      });
    }
  });

  it('refuses an invalid bucket or endpoint when the manager is made', () => {
    expect(() => s3IO({ bucket: 'Bad_Bucket' })).toThrow('invalid S3 bucket name "Bad_Bucket"');
    expect(() => s3IO({ bucket: 'lake', endpoint: 'ftp://x' })).toThrow('the S3 endpoint must be an http(s) URL');
  });
});
