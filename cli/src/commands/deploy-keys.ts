import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { generateDeployKeyPair, keyId, parseSigningKey } from '@outpost/sdk/signing';
import type { Command } from '../command.js';
import { CliError, EXIT } from '../errors.js';
import { json } from '../output.js';

/** The two files `deploy-keys create` writes into its directory. */
export const PRIVATE_KEY_FILE = 'deploy-key.pem';
export const PUBLIC_KEY_FILE = 'deploy-key.pub.pem';

export const deployKeysCreate: Command = {
  name: 'deploy-keys create',
  args: '<dir>',
  summary: 'Create an Ed25519 key pair that signs deployments (workers trust its public half)',
  notes: [
    `Writes ${PRIVATE_KEY_FILE} (mode 0600: keep it where you deploy from, never on a worker or the control plane) and ${PUBLIC_KEY_FILE}.`,
    `Deploy with --sign-key <dir>/${PRIVATE_KEY_FILE} (or OUTPOST_SIGN_KEY); start workers with --trust-key <dir>/${PUBLIC_KEY_FILE}.`,
  ],
  async run(ctx) {
    const dir = resolve(ctx.cwd, ctx.positionals[0]!);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const pair = generateDeployKeyPair();
    const privatePath = resolve(dir, PRIVATE_KEY_FILE);
    const publicPath = resolve(dir, PUBLIC_KEY_FILE);
    try {
      // `wx`: an existing key is never overwritten; losing it would orphan every worker that trusts it.
      await writeFile(privatePath, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw new CliError(`${privatePath} exists already; choose another directory or remove it first`, EXIT.usage);
      }
      throw new CliError(`cannot write ${privatePath} (${code ?? 'error'})`, EXIT.usage);
    }
    // The mode given to open() is masked by the umask; the private key's must be exactly 0600.
    await chmod(privatePath, 0o600);
    await writeFile(publicPath, pair.publicKeyPem, { mode: 0o644 });
    const kid = keyId(parseSigningKey(pair.privateKeyPem));
    if (ctx.json) {
      ctx.out(json({ privateKey: privatePath, publicKey: publicPath, keyId: kid }));
      return EXIT.ok;
    }
    ctx.out(`created deploy key ${kid}`);
    ctx.out(`  private: ${privatePath}  (sign with: outpost deploy --sign-key ${privatePath})`);
    ctx.out(`  public:  ${publicPath}  (trust with: outpost worker start --trust-key ${publicPath})`);
    return EXIT.ok;
  },
};
