import { createECDH, createHash, createHmac, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

/*
 * The relay speaks TLS 1.3 with a self-signed certificate, and a pod trusts exactly one key: the
 * one its Secret pins (`OUTPOST_RELAY_PIN`, the base64 SHA-256 of the key's SubjectPublicKeyInfo).
 * Hostnames and CAs play no part, so the relay address may be an IP, a Service name or anything
 * that routes.
 *
 * The key is derived from the worker's relay key (itself derived from its API key) and its name,
 * never stored: a worker restarted with the same key and name presents the same key to the pods it
 * adopts, whose pins were written when their Jobs were created. The certificate around it is made
 * afresh at each start; the pin is of the key, so it does not matter that the certificate differs.
 */

/** The relay's TLS identity: its private key and certificate (PEM), and the pin pods check it by. */
export interface RelayIdentity {
  key: string;
  cert: string;
  pin: string;
}

/** The order of P-256: a private scalar must be in [1, n). */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** The worker's relay TLS key: a P-256 key whose scalar is an HMAC of the worker's name under its relay key. */
export function relayPrivateKey(relayKey: Buffer, worker: string): KeyObject {
  for (let counter = 0; ; counter++) {
    const d = createHmac('sha256', relayKey).update(`relay-tls#${worker}#${counter}`).digest();
    const scalar = BigInt(`0x${d.toString('hex')}`);
    // Out of range about once in 2^32 derivations: the next counter gives another candidate.
    if (scalar === 0n || scalar >= P256_ORDER) continue;
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(d);
    const point = ecdh.getPublicKey(); // 0x04 ‖ x ‖ y
    return createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        d: d.toString('base64url'),
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
  }
}

/** The pin of a public key: base64 of the SHA-256 of its SubjectPublicKeyInfo (DER), as HPKP and curl's `--pinnedpubkey` take it. */
export function spkiPin(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

/** The pin of the worker's relay key, which its pods' Secrets carry. */
export function relayPin(relayKey: Buffer, worker: string): string {
  return spkiPin(createPublicKey(relayPrivateKey(relayKey, worker)));
}

/** The worker's relay key with a fresh self-signed certificate for it. */
export async function relayIdentity(relayKey: Buffer, worker: string): Promise<RelayIdentity> {
  const privateKey = relayPrivateKey(relayKey, worker);
  const publicKey = createPublicKey(privateKey);
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Loaded here only: the pod runner, which imports this module to check pins, never makes certificates.
  const { generate } = await import('selfsigned');
  const made = await generate([{ name: 'commonName', value: 'outpost-relay' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    // The pin, not the validity, is what pods check; ten years keeps tools that read the certificate quiet.
    notAfterDate: new Date(Date.now() + 10 * 365 * 86_400_000),
    keyPair: { privateKey: key, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
  });
  return { key, cert: made.cert, pin: spkiPin(publicKey) };
}

/** The relay answered with a key other than the pinned one: nothing was sent to it. */
export class RelayPinMismatch extends Error {
  override readonly name = 'RelayPinMismatch';
}

/**
 * Opens a TLS connection to the relay and calls `verified` once the server proved it holds the
 * pinned key (TLS 1.3 has it sign the handshake with the key in its certificate). A server with
 * another key gets nothing: the socket is destroyed with a RelayPinMismatch before `verified` runs.
 */
export function connectPinned(options: { host: string; port: number; pin: string }, verified: () => void): TLSSocket {
  const socket = connect({
    host: options.host,
    port: options.port,
    ...(isIP(options.host) ? {} : { servername: options.host }),
    minVersion: 'TLSv1.3',
    // The certificate is self-signed: no CA vouches for it, the pin below does.
    rejectUnauthorized: false,
  });
  socket.once('secureConnect', () => {
    const certificate = socket.getPeerX509Certificate();
    const presented = certificate ? spkiPin(certificate.publicKey) : null;
    if (presented !== options.pin) {
      socket.destroy(
        new RelayPinMismatch(
          `the relay at ${options.host}:${options.port} presented a key (${presented ?? 'none'}) that is not the pinned one (${options.pin})`,
        ),
      );
      return;
    }
    verified();
  });
  return socket;
}
