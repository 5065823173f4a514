import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

// Format: a prefix (`op_` for a workspace's API key, `opo_` for an organisation's token) + 32 random
// base62 characters (~190 bits) + a 6-character base62 CRC32 of those 32. The fixed prefix lets
// secret scanners find leaked keys; the checksum lets us (and scanners) refuse a mistyped or
// made-up key without a database lookup. Keys are stored only as sha256.

const PREFIX = 'op_';
/** The prefix of an organisation token. */
export const ORGANISATION_TOKEN_PREFIX = 'opo_';
const BODY_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
/** How much of a key is kept in clear, so people can tell their keys apart in a list. */
const DISPLAY_PREFIX_LENGTH = 10;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// 248 = 4 × 62: bytes at or above it are dropped, so every character is equally likely.
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += ALPHABET[byte % ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** 62^6 > 2^32, so six characters hold any CRC32; left-padded to a fixed width. */
function checksum(body: string): string {
  let value = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[value % ALPHABET.length] + out;
    value = Math.floor(value / ALPHABET.length);
  }
  return out;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function generateSecret(prefix: string): { key: string; hash: string; prefix: string } {
  const body = randomBase62(BODY_LENGTH);
  const key = `${prefix}${body}${checksum(body)}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, prefix.length + DISPLAY_PREFIX_LENGTH - PREFIX.length) };
}

function parseSecret(prefix: string, raw: string): { hash: string } | null {
  if (raw.length !== prefix.length + BODY_LENGTH + CHECKSUM_LENGTH || !raw.startsWith(prefix)) return null;
  const rest = raw.slice(prefix.length);
  if (!/^[0-9A-Za-z]+$/.test(rest)) return null;
  if (rest.slice(BODY_LENGTH) !== checksum(rest.slice(0, BODY_LENGTH))) return null;
  return { hash: hashApiKey(raw) };
}

/** A new key: `key` is shown once, `hash` is stored, `prefix` is kept for display. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  return generateSecret(PREFIX);
}

/** The hash to look a presented key up by, or null when it cannot be one of ours. No trimming. */
export function parseApiKey(raw: string): { hash: string } | null {
  return parseSecret(PREFIX, raw);
}

/** A new organisation token, like generateApiKey. */
export function generateOrganisationToken(): { key: string; hash: string; prefix: string } {
  return generateSecret(ORGANISATION_TOKEN_PREFIX);
}

/** The hash to look a presented organisation token up by, or null when it cannot be one. */
export function parseOrganisationToken(raw: string): { hash: string } | null {
  return parseSecret(ORGANISATION_TOKEN_PREFIX, raw);
}
