import { base64url, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, looksLikeJwt, RunTokenError, RunTokenIssuer, type SigningKeyRecord } from '../src/auth/run-token.js';

const RUN = '3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c';
const WORKSPACE = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';
const CLAIMS = { runId: RUN, attempt: 2, workspaceId: WORKSPACE };

let key: SigningKeyRecord;
let issuer: RunTokenIssuer;

beforeAll(async () => {
  key = await generateSigningKey();
  issuer = new RunTokenIssuer([key]);
});

const now = () => Math.floor(Date.now() / 1000);

function payload(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: 'outpost',
    aud: 'outpost-run',
    sub: RUN,
    att: 2,
    wsp: WORKSPACE,
    iat: now(),
    exp: now() + 600,
    jti: '0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e',
    ...overrides,
  };
}

/** Signs an arbitrary header and payload with a real signing key, as an attacker holding it could. */
async function forge(record: SigningKeyRecord, body: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const { kty, crv, x, d } = record.privateJwk;
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'outpost-run+jwt', kid: record.kid, ...header })
    .sign({ kty: kty as string, crv: crv as string, x: x as string, d: d as string });
}

function segment(value: object): string {
  return base64url.encode(JSON.stringify(value));
}

function decodeSegment(value: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64url.decode(value)));
}

async function expectRejected(token: string): Promise<void> {
  await expect(issuer.verify(token)).rejects.toBeInstanceOf(RunTokenError);
}

describe('run tokens', () => {
  it('verify to the claims they were signed with', async () => {
    const token = await issuer.sign(CLAIMS);
    expect(await issuer.verify(token)).toEqual(CLAIMS);
  });

  it('carry the pinned header and claims, with a fresh jti each time', async () => {
    const token = await issuer.sign(CLAIMS);
    const [head, body] = token.split('.');
    expect(decodeSegment(head!)).toEqual({ alg: 'EdDSA', typ: 'outpost-run+jwt', kid: key.kid });
    const claims = decodeSegment(body!);
    expect(claims).toMatchObject({ iss: 'outpost', aud: 'outpost-run', sub: RUN, att: 2, wsp: WORKSPACE });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(900);
    const other = decodeSegment((await issuer.sign(CLAIMS)).split('.')[1]!);
    expect(other.jti).not.toBe(claims.jti);
  });

  it('are accepted when forged with every claim right, so the rejections below are for the stated reason', async () => {
    expect(await issuer.verify(await forge(key, payload()))).toEqual(CLAIMS);
  });

  it('are rejected once expired beyond the small clock tolerance', async () => {
    expect(await issuer.verify(await forge(key, payload({ iat: now() - 603, exp: now() - 3 })))).toEqual(CLAIMS);
    await expectRejected(await forge(key, payload({ iat: now() - 700, exp: now() - 30 })));
  });

  it('are rejected when issued in the future or older than the token lifetime', async () => {
    await expectRejected(await forge(key, payload({ iat: now() + 60, exp: now() + 600 })));
    await expectRejected(await forge(key, payload({ iat: now() - 1000, exp: now() + 600 })));
  });

  it('are rejected with the wrong audience or issuer', async () => {
    await expectRejected(await forge(key, payload({ aud: 'outpost-user' })));
    await expectRejected(await forge(key, payload({ aud: ['outpost-user'] })));
    await expectRejected(await forge(key, payload({ iss: 'someone-else' })));
    await expect(new RunTokenIssuer([key], { issuer: 'other' }).verify(await issuer.sign(CLAIMS))).rejects.toBeInstanceOf(
      RunTokenError,
    );
  });

  it('are rejected unsigned with alg none', async () => {
    const header = segment({ alg: 'none', typ: 'outpost-run+jwt', kid: key.kid });
    await expectRejected(`${header}.${segment(payload())}.`);
  });

  it('are rejected when signed HS256 with the public key as the secret', async () => {
    const secrets = [base64url.decode(key.publicJwk.x as string), new TextEncoder().encode(JSON.stringify(issuer.jwks()))];
    for (const secret of secrets) {
      const token = await new SignJWT(payload())
        .setProtectedHeader({ alg: 'HS256', typ: 'outpost-run+jwt', kid: key.kid })
        .sign(secret);
      await expectRejected(token);
    }
  });

  it('are rejected when signed by a key the issuer does not list, or naming no key', async () => {
    const stranger = await generateSigningKey();
    await expectRejected(await new RunTokenIssuer([stranger]).sign(CLAIMS));
    // A stranger's token relabelled with a listed kid fails the signature instead.
    await expectRejected(await forge(stranger, payload(), { kid: key.kid }));
    await expectRejected(await forge(key, payload(), { kid: undefined }));
  });

  it('are rejected when the payload was tampered with', async () => {
    const [head, , signature] = (await issuer.sign(CLAIMS)).split('.');
    const otherRun = segment(payload({ sub: 'aaaaaaaa-8b7d-4c6e-9a1b-2d3e4f5a6b7c' }));
    await expectRejected(`${head}.${otherRun}.${signature}`);
    await expectRejected(`${head}.${segment(payload({ att: 3 }))}.${signature}`);
  });

  it('are rejected with any typ other than outpost-run+jwt exactly', async () => {
    for (const typ of ['JWT', 'application/outpost-run+jwt', 'OUTPOST-RUN+JWT', undefined]) {
      await expectRejected(await forge(key, payload(), { typ }));
    }
  });

  it('are rejected when the run, attempt or workspace claim is missing or malformed', async () => {
    const bad: JWTPayload[] = [
      { sub: undefined },
      { sub: RUN.toUpperCase() },
      { sub: ` ${RUN}` },
      { sub: `${RUN}\n` },
      { sub: 'run-1' },
      { att: undefined },
      { att: 0 },
      { att: -1 },
      { att: 1.5 },
      { att: '2' },
      { wsp: undefined },
      { wsp: 'acme' },
      { jti: undefined },
      { exp: undefined },
    ];
    for (const overrides of bad) await expectRejected(await forge(key, payload(overrides)));
  });

  it('are rejected when they are not JWTs at all', async () => {
    await expectRejected('op_abcdefghijklmnopqrstuvwxyz0123451nc0VA');
    await expectRejected('');
    await expectRejected('eyJhbGciOiJFZERTQSJ9.e30');
    await expectRejected(`eyJ${'a'.repeat(5000)}.e30.sig`);
  });

  it('are not signed for malformed claims', async () => {
    await expect(issuer.sign({ ...CLAIMS, runId: 'not-a-uuid' })).rejects.toBeInstanceOf(RunTokenError);
    await expect(issuer.sign({ ...CLAIMS, attempt: 0 })).rejects.toBeInstanceOf(RunTokenError);
    await expect(issuer.sign({ ...CLAIMS, workspaceId: '' })).rejects.toBeInstanceOf(RunTokenError);
  });
});

describe('looksLikeJwt', () => {
  it('tells compact JWTs from API keys and other strings', async () => {
    expect(looksLikeJwt(await issuer.sign(CLAIMS))).toBe(true);
    expect(looksLikeJwt('op_abcdefghijklmnopqrstuvwxyz0123451nc0VA')).toBe(false);
    expect(looksLikeJwt('Bearer eyJa.eyJb.c')).toBe(false);
    expect(looksLikeJwt('eyJa.eyJb')).toBe(false);
    expect(looksLikeJwt('')).toBe(false);
  });
});
