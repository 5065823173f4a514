import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestRegistry {
  /** `127.0.0.1:<port>`, as written in `oci://` references. */
  host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function probe(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? null);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(null));
  });
}

/** Debian's docker-registry on 127.0.0.1 with basic auth for one user (bcrypt htpasswd): the customer's registry. */
export async function startRegistry(user: { username: string; password: string }): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-worker-registry-'));
  const { stdout } = await run('htpasswd', ['-Bbn', user.username, user.password]);
  await writeFile(join(dir, 'htpasswd'), stdout);
  const port = await freePort();
  await writeFile(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:\n  level: error\n  accesslog:\n    disabled: true',
      `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}`,
      `http:\n  addr: 127.0.0.1:${port}\n  secret: outpost-worker-test`,
      `auth:\n  htpasswd:\n    realm: outpost-worker-test\n    path: ${join(dir, 'htpasswd')}`,
    ].join('\n'),
  );
  const child = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if ((await probe(`http://127.0.0.1:${port}/v2/`)) === 401) return { host: `127.0.0.1:${port}`, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error('docker-registry did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
