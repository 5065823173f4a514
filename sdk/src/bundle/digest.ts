import { createHash } from 'node:crypto';

/** Only sha256 is produced and accepted: it is what every OCI registry supports. */
export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function digestHex(digest: string): string {
  return digest.slice('sha256:'.length);
}
