import { CompactSign } from 'jose';
import { describe, expect, it } from 'vitest';
import { DeploymentUpsertRequest } from '../src/contracts/index.js';
import {
  canonicalJson,
  DeploymentSignatureError,
  deploymentStatement,
  generateDeployKeyPair,
  keyId,
  parseSigningKey,
  parseTrustKey,
  readDeploymentSignature,
  signDeploymentStatement,
  statementMismatch,
  verifyDeploymentSignature,
} from '../src/signing/index.js';

const FIELDS = {
  flowName: 'train',
  deployment: 'nightly',
  workPool: 'gpu',
  source: `oci://registry.internal:5000/acme/flows@sha256:${'a'.repeat(64)}`,
  entrypoint: 'flows/train.js',
  jobVariables: { env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' }, MODE: 'full' }, image: 'registry.internal/acme/runner:1' },
  parameterSchema: { type: 'object', properties: { epochs: { type: 'integer' } } },
};

function keys() {
  const pair = generateDeployKeyPair();
  return { signing: parseSigningKey(pair.privateKeyPem), trust: parseTrustKey(pair.publicKeyPem) };
}

describe('signing: deployment statements', () => {
  it('a signature made with a deploy key verifies with its public half and returns the statement', async () => {
    const { signing, trust } = keys();
    const jws = await signDeploymentStatement(deploymentStatement(FIELDS), signing);
    const verified = await verifyDeploymentSignature(jws, [trust]);
    expect(verified.kid).toBe(keyId(signing));
    expect(verified.statement).toEqual(deploymentStatement(FIELDS));
  });

  it('signs equal statements alike whatever their key order, so a redeploy of the same thing makes no new version', async () => {
    const { signing } = keys();
    const reordered = {
      ...FIELDS,
      jobVariables: { image: FIELDS.jobVariables.image, env: { MODE: 'full', DB_PASSWORD: { $secret: 'DB_PASSWORD' } } },
    };
    expect(await signDeploymentStatement(deploymentStatement(reordered), signing)).toBe(
      await signDeploymentStatement(deploymentStatement(FIELDS), signing),
    );
  });

  it('refuses a missing signature, another key, and an altered payload, each with its own reason', async () => {
    const { signing, trust } = keys();
    const other = keys();
    const jws = await signDeploymentStatement(deploymentStatement(FIELDS), signing);
    await expect(verifyDeploymentSignature(null, [trust])).rejects.toThrow('the deployment version is not signed');
    await expect(verifyDeploymentSignature(jws, [other.trust])).rejects.toThrow('signed by a key this worker does not trust');
    const [header, , signature] = jws.split('.');
    const altered = Buffer.from(canonicalJson(deploymentStatement({ ...FIELDS, entrypoint: 'flows/evil.js' }))).toString(
      'base64url',
    );
    await expect(verifyDeploymentSignature(`${header}.${altered}.${signature}`, [trust])).rejects.toThrow('altered or forged');
  });

  it('accepts any of several trust keys, as during a rotation', async () => {
    const old = keys();
    const next = keys();
    const jws = await signDeploymentStatement(deploymentStatement(FIELDS), next.signing);
    expect((await verifyDeploymentSignature(jws, [old.trust, next.trust])).kid).toBe(next.trust.kid);
  });

  it('does not take another JWS of the same key for a deployment signature', async () => {
    const { signing, trust } = keys();
    const payload = new TextEncoder().encode(canonicalJson(deploymentStatement(FIELDS)));
    const jwt = await new CompactSign(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: trust.kid }).sign(signing);
    await expect(verifyDeploymentSignature(jwt, [trust])).rejects.toThrow(DeploymentSignatureError);
  });

  it('names the first field that differs, down to the job variable', () => {
    const signed = deploymentStatement(FIELDS);
    expect(statementMismatch(signed, deploymentStatement(FIELDS))).toBeNull();
    expect(statementMismatch(signed, { entrypoint: 'flows/other.js' })).toBe('entrypoint');
    expect(statementMismatch(signed, { workPool: 'cpu' })).toBe('work pool');
    const extra = { ...FIELDS.jobVariables, env: { ...FIELDS.jobVariables.env, NODE_OPTIONS: '--import=x' } };
    expect(statementMismatch(signed, { jobVariables: extra })).toBe('job variables (env.NODE_OPTIONS)');
    // A field the caller does not know is not compared.
    expect(statementMismatch(signed, { source: FIELDS.source })).toBeNull();
  });

  it('reads the statement of a signature without a key, and refuses text that is not one', async () => {
    const { signing } = keys();
    const jws = await signDeploymentStatement(deploymentStatement(FIELDS), signing);
    expect(readDeploymentSignature(jws).statement.deployment).toBe('nightly');
    expect(() => readDeploymentSignature('a.b.c')).toThrow(DeploymentSignatureError);
  });

  it('refuses keys that are not Ed25519 or not keys at all', () => {
    expect(() => parseSigningKey('not a key')).toThrow('is not a PEM private key');
    expect(() => parseTrustKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toThrow(
      'is not a PEM public key',
    );
  });
});

describe('contracts: start-up variables are never job variables', () => {
  const withEnv = (env: Record<string, unknown>) =>
    DeploymentUpsertRequest.safeParse({
      flowName: 'f',
      name: 'd',
      source: 'dir:///srv/flows',
      entrypoint: 'flows/f.js',
      workPool: 'default',
      jobVariables: { env },
    });

  it('refuses NODE_OPTIONS, LD_PRELOAD, PATH and PYTHONPATH in jobVariables.env, each at its own path', () => {
    const result = withEnv({ NODE_OPTIONS: '--import=x', LD_PRELOAD: '/x.so', PATH: '/evil', pythonpath: '/x', MODE: 'ok' });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(paths.sort()).toEqual([
      'jobVariables.env.LD_PRELOAD',
      'jobVariables.env.NODE_OPTIONS',
      'jobVariables.env.PATH',
      'jobVariables.env.pythonpath',
    ]);
  });

  it('accepts ordinary variables and secret references', () => {
    const result = withEnv({ MODE: 'ok', DB_PASSWORD: { $secret: 'DB_PASSWORD' }, NODEJS_LIKE: 'fine' });
    expect(result.success).toBe(true);
  });
});
