import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

// Secrets the control plane must use itself (an OIDC client secret for the code exchange) are
// stored encrypted with AES-256-GCM under a server key from OUTPOST_SECRET_KEY, which lives outside
// the database: a copy of the database alone reveals none of them. The associated data binds each
// ciphertext to the row it belongs to, so a value copied to another workspace's row does not decrypt.

const VERSION = 'v1';
const IV_LENGTH = 12;

export class SecretBox {
  readonly #key: Buffer;

  /** `secret`: OUTPOST_SECRET_KEY, any string of at least 32 characters (e.g. `openssl rand -base64 32`). */
  constructor(secret: string) {
    if (secret.length < 32) throw new Error('OUTPOST_SECRET_KEY must be at least 32 characters');
    // A fixed-purpose derivation, so the same environment value could key other uses without reuse.
    this.#key = createHash('sha256').update('outpost.secret-box.v1\0').update(secret, 'utf8').digest();
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: 16 });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), data.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The plaintext, or null when the value was not sealed with this key for this context. */
  open(sealed: string, context: string): string | null {
    const [version, iv, data, tag] = sealed.split('.');
    if (version !== VERSION || !iv || data === undefined || !tag) return null;
    try {
      // A fixed tag length: GCM would otherwise accept a truncated tag, which is easier to forge.
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
