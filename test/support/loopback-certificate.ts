import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * An RSA key and a self-signed certificate for IP 127.0.0.1 named `commonName`, made by openssl in
 * `dir` (kept there as `<name>.key` and `<name>.crt`, the certificate's path returned as `certFile`) and good for two days: what the suites' HTTPS
 * servers (a git server, a kubelet) present.
 */
export async function loopbackCertificate(
  dir: string,
  name: string,
  commonName = '127.0.0.1',
): Promise<{ key: Buffer; cert: Buffer; certFile: string }> {
  await mkdir(dir, { recursive: true });
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  return { key: await readFile(key), cert: await readFile(cert), certFile: cert };
}
