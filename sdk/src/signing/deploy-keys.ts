import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader, errors } from 'jose';
import {
  canonicalJson,
  DEPLOYMENT_SIGNATURE_TYP,
  DeploymentStatement,
  type DeploymentStatement as Statement,
} from './deployment-statement.js';

/*
 * Deploy keys: Ed25519 key pairs the customer keeps. The private half signs deployments
 * (`outpost deploy --sign-key`), the public half goes to workers (`--trust-key`). The envelope is a
 * JWS in compact form (RFC 7515) with `alg: EdDSA`: jose is a dependency already, its verifier takes
 * the allowed algorithms as an argument (no `alg: none`, no HMAC confusion), and a compact JWS is one
 * opaque string the control plane stores as it is. DSSE would need its pre-authentication encoding
 * written by hand for the same guarantee. The `kid` is the key's RFC 7638 thumbprint, so a worker
 * with several trust keys (a rotation) finds the one to try without trying each.
 */

/** Why a signature did not verify, as a worker names it in the run's FAILED state. */
export class DeploymentSignatureError extends Error {
  override readonly name = 'DeploymentSignatureError';
}

/** A public key a worker trusts, with its thumbprint. */
export interface TrustKey {
  kid: string;
  key: KeyObject;
}

/** A new deploy key pair, both halves PEM-encoded (PKCS #8 and SPKI). */
export function generateDeployKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * The RFC 7638 thumbprint of an Ed25519 key's public half: sha256 over its JWK's required members
 * (`crv`, `kty`, `x`, in that order), base64url. Synchronous, so a worker reads its keys at boot.
 */
export function keyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  return createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }))
    .digest('base64url');
}

function requireEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new DeploymentSignatureError(`${what} is a ${key.asymmetricKeyType ?? 'symmetric'} key, not an Ed25519 key`);
  }
  return key;
}

/** Reads a private deploy key from PEM; throws a one-line DeploymentSignatureError otherwise. */
export function parseSigningKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new DeploymentSignatureError('is not a PEM private key (outpost deploy-keys create writes one)');
  }
  return requireEd25519(key, 'the signing key');
}

/** Reads a trust key from PEM (a public key, or a private one whose public half is taken). */
export function parseTrustKey(pem: string): TrustKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new DeploymentSignatureError('is not a PEM public key (outpost deploy-keys create writes deploy-key.pub.pem)');
  }
  requireEd25519(key, 'the trust key');
  return { kid: keyId(key), key };
}

/** Signs a statement: a compact JWS over its canonical JSON. Ed25519 is deterministic, so equal statements sign alike. */
export async function signDeploymentStatement(statement: Statement, privateKey: KeyObject): Promise<string> {
  const payload = new TextEncoder().encode(canonicalJson(statement));
  return new CompactSign(payload)
    .setProtectedHeader({ alg: 'EdDSA', typ: DEPLOYMENT_SIGNATURE_TYP, kid: keyId(privateKey) })
    .sign(privateKey);
}

/**
 * The statement a signature carries, read without verifying it: what the API checks against the
 * request it came with (it holds no key). Throws a DeploymentSignatureError on anything malformed.
 */
export function readDeploymentSignature(jws: string): { kid: string | null; statement: Statement } {
  let kid: string | null;
  try {
    const header = decodeProtectedHeader(jws);
    if (header.alg !== 'EdDSA' || header.typ !== DEPLOYMENT_SIGNATURE_TYP) {
      throw new DeploymentSignatureError(`is not a deployment signature (alg ${header.alg}, typ ${header.typ})`);
    }
    kid = typeof header.kid === 'string' ? header.kid : null;
  } catch (error) {
    if (error instanceof DeploymentSignatureError) throw error;
    throw new DeploymentSignatureError('is not a JWS in compact form');
  }
  const payload = jws.split('.')[1] ?? '';
  return { kid, statement: parseStatement(Buffer.from(payload, 'base64url')) };
}

function parseStatement(bytes: Uint8Array): Statement {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new DeploymentSignatureError('does not carry a JSON statement');
  }
  const parsed = DeploymentStatement.safeParse(value);
  if (!parsed.success) throw new DeploymentSignatureError('does not carry an Outpost deployment statement');
  return parsed.data;
}

/**
 * Verifies a signature against the keys a worker trusts and returns the signed statement. Throws a
 * DeploymentSignatureError saying why not: unsigned, signed by another key, forged or altered.
 */
export async function verifyDeploymentSignature(
  jws: string | null | undefined,
  keys: readonly TrustKey[],
): Promise<{ kid: string; statement: Statement }> {
  if (!jws) throw new DeploymentSignatureError('the deployment version is not signed');
  const { kid } = readDeploymentSignature(jws);
  const key = keys.find((k) => k.kid === kid);
  if (!key)
    throw new DeploymentSignatureError(
      `the deployment version is signed by a key this worker does not trust (${kid ?? 'no kid'})`,
    );
  try {
    const { payload } = await compactVerify(jws, key.key, { algorithms: ['EdDSA'] });
    return { kid: key.kid, statement: parseStatement(payload) };
  } catch (error) {
    if (error instanceof DeploymentSignatureError) throw error;
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      throw new DeploymentSignatureError(
        `the deployment signature does not verify with trust key ${key.kid} (altered or forged)`,
      );
    }
    throw new DeploymentSignatureError(`the deployment signature is malformed (${(error as Error).message})`);
  }
}
