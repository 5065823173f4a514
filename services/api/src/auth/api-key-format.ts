import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

// Format: `op_` + 32 random base62 characters (~190 bits) + a 6-character base62 CRC32 of those 32.
// The fixed prefix lets secret scanners find leaked keys; the checksum lets us (and scanners)
// refuse a mistyped or made-up key without a database lookup. Keys are stored only as sha256.

const PREFIX = 'op_';
const BODY_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const KEY_LENGTH = PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH;
/** How much of a key is kept in clear, so people can tell their keys apart in a list. */
const DISPLAY_PREFIX_LENGTH = 10;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = new RegExp(`^${PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);
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

/** A new key: `key` is shown once, `hash` is stored, `prefix` is kept for display. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const body = randomBase62(BODY_LENGTH);
  const key = `${PREFIX}${body}${checksum(body)}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/** The hash to look a presented key up by, or null when it cannot be one of ours. No trimming. */
export function parseApiKey(raw: string): { hash: string } | null {
  if (raw.length !== KEY_LENGTH || !KEY_PATTERN.test(raw)) return null;
  const body = raw.slice(PREFIX.length, PREFIX.length + BODY_LENGTH);
  if (raw.slice(PREFIX.length + BODY_LENGTH) !== checksum(body)) return null;
  return { hash: hashApiKey(raw) };
}
