import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt parameters: OWASP's equal-strength alternative N=2^15, r=8, p=3 (32 MiB a hash, about
 * 100 ms on one core). They are stored with each hash, so raising them later re-hashes a user's
 * password at their next sign-in without invalidating the old hashes. (Argon2id would need a native
 * module; scrypt ships with Node.)
 */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 3 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Bytes, not characters: NIST SP 800-63B asks for at least 8 and lets a verifier cap the length. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;
const HASH_PATTERN = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 128 * params.N * params.r * 2 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$hash`, salt and hash base64url. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

function parse(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const match = HASH_PATTERN.exec(stored);
  if (!match) return null;
  const [, n, r, p, salt, key] = match;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  // Bounds keep a corrupted row from asking for gigabytes of memory.
  if (params.N < 2 || params.N > 2 ** 20 || (params.N & (params.N - 1)) !== 0) return null;
  if (params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return null;
  return { params, salt: Buffer.from(salt as string, 'base64url'), key: Buffer.from(key as string, 'base64url') };
}

// A fixed hash to verify against when the account does not exist, so a missing account costs the
// same time as a wrong password and sign-in does not reveal which emails have accounts. One per set
// of parameters: it must cost what the server's own hashes cost, and servers in one process (tests)
// may use different parameters.
const decoys = new Map<string, Promise<string>>();

/**
 * Whether `password` matches `stored`; with `stored` null (no such account, or no password set),
 * a decoy hash is checked so the answer takes as long, and is false. `rehash` says the stored hash
 * uses weaker parameters than `params` and should be replaced now that the password is known.
 */
export async function verifyPassword(
  password: string,
  stored: string | null,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<{ ok: boolean; rehash: boolean }> {
  const parsed = stored === null ? null : parse(stored);
  if (parsed === null) {
    const name = `${params.N}:${params.r}:${params.p}`;
    let decoy = decoys.get(name);
    if (!decoy) {
      decoy = hashPassword('decoy password that matches nothing', params);
      decoys.set(name, decoy);
    }
    const fallback = parse(await decoy);
    if (fallback) await derive(password, fallback.salt, fallback.params);
    return { ok: false, rehash: false };
  }
  const key = await derive(password, parsed.salt, parsed.params);
  const ok = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  const weaker = parsed.params.N < params.N || parsed.params.r < params.r || parsed.params.p < params.p;
  return { ok, rehash: ok && weaker };
}

/** Why a new password is refused, or null. Length is the rule that matters (NIST SP 800-63B); no composition rules. */
export function passwordProblem(password: string, email: string): string | null {
  const length = Buffer.byteLength(password, 'utf8');
  if (password.length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} bytes`;
  if (password.trim().toLowerCase() === email.trim().toLowerCase()) return 'must not be the email address';
  if (new Set(password).size < 4) return 'is too repetitive';
  return null;
}
