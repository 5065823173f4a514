import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/processes.js';

const NOBODY = 65534;
/** As root, the check runs as an ordinary user, the one it can only advise. */
const asOrdinaryUser = userInfo().uid === 0 ? { uid: NOBODY, gid: NOBODY } : {};

describe('the system-package check that npm test runs first', () => {
  // The script runs from a copy that any user can read: the checkout may sit in a private directory.
  const scratch = mkdtempSync(path.join(tmpdir(), 'outpost-syspkg-'));
  chmodSync(scratch, 0o755);
  const script = path.join(scratch, 'system-packages.mjs');
  copyFileSync(path.join(repoRoot, 'test/support/system-packages.mjs'), script);
  chmodSync(script, 0o644);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  function check(env: NodeJS.ProcessEnv, user: { uid?: number; gid?: number } = {}) {
    return spawnSync(process.execPath, [script], { env, ...user, encoding: 'utf8', cwd: '/' });
  }

  it('passes silently when every package is installed', () => {
    const result = check({ PATH: process.env.PATH ?? '' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('stops at once with one line naming the missing packages and the command that installs them', () => {
    // A PATH with apt-get and nothing else the suites need.
    const bin = path.join(scratch, 'bin');
    spawnSync('mkdir', ['-m', '755', bin]);
    symlinkSync('/usr/bin/apt-get', path.join(bin, 'apt-get'));
    const result = check({ PATH: bin }, asOrdinaryUser);
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('docker-registry apache2-utils git openssl unzip podman buildah runc catatonit docker-compose');
    expect(lines[0]).toContain(
      'run `sudo apt-get install -y --no-install-recommends docker-registry apache2-utils git openssl unzip podman buildah runc catatonit docker-compose`',
    );
  });

  it('names the packages when the system has no apt-get', () => {
    const result = check({ PATH: path.join(scratch, 'nothing-here') }, asOrdinaryUser);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      "npm test needs these Debian packages (or your system's equivalents): docker-registry apache2-utils git openssl unzip podman buildah runc catatonit docker-compose — install them, then run npm test again",
    ]);
  });
});
