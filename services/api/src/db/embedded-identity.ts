import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { StartupError } from '../startup-error.js';

/**
 * Who the embedded Postgres processes run as. Postgres refuses to run as root, so root needs
 * another identity:
 * - `self`: an ordinary user runs them as itself.
 * - `userns`: root runs them in a user namespace of their own, where root's uid appears as
 *   `nobody`. The kernel still checks files against root's real uid, so a cluster in a private
 *   (0700) directory under /root, or in any `mktemp -d`, works, its files stay root's, and no
 *   system user is created.
 * - `postgres`: where user namespaces are not allowed (some containers), root runs them as the
 *   `postgres` system user, which then needs every directory on the way to be traversable.
 */
export type Identity = { kind: 'self' } | { kind: 'userns' } | { kind: 'postgres'; uid: number; gid: number };

/** The uid and gid root's own appear as inside the namespace: `nobody`, which exists everywhere. */
const NAMESPACE_ID = 65534;

export function isRoot(): boolean {
  return process.platform !== 'win32' && userInfo().uid === 0;
}

let probed: boolean | null = null;

/** Whether this machine lets root start a process in a user namespace of its own. */
function userNamespacesWork(): boolean {
  probed ??= spawnSync('unshare', namespaceArgs(['true']), { stdio: 'ignore', timeout: 10_000 }).status === 0;
  return probed;
}

function namespaceArgs(command: string[]): string[] {
  return ['--user', `--map-user=${NAMESPACE_ID}`, `--map-group=${NAMESPACE_ID}`, '--', ...command];
}

export function chooseIdentity(paths: readonly string[]): Identity {
  if (!isRoot()) return { kind: 'self' };
  if (userNamespacesWork()) return { kind: 'userns' };
  const ids = postgresUser();
  for (const path of paths) assertTraversable(path, ids);
  return { kind: 'postgres', ...ids };
}

/** The command and spawn options that run `binary args` as `identity`. */
export function commandFor(
  identity: Identity,
  binary: string,
  args: readonly string[],
): { command: string; args: string[]; ids: { uid?: number; gid?: number } } {
  switch (identity.kind) {
    case 'self':
      return { command: binary, args: [...args], ids: {} };
    case 'userns':
      return { command: 'unshare', args: namespaceArgs([binary, ...args]), ids: {} };
    case 'postgres':
      return { command: binary, args: [...args], ids: { uid: identity.uid, gid: identity.gid } };
  }
}

/** The `postgres` system user, created the way Debian's own packages do when it is missing. */
function postgresUser(): { uid: number; gid: number } {
  const lookup = () => {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } : null;
  };
  const found = lookup();
  if (found) return found;
  spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], {
    stdio: 'ignore',
  });
  const created = lookup();
  if (!created) {
    throw new StartupError(
      'Postgres cannot run as root, user namespaces are not allowed here, and no `postgres` user could be created',
      'run `npm start` as an ordinary user, or set DATABASE_URL to a Postgres you run',
    );
  }
  return created;
}

/**
 * Fails with the directory that stops `ids` from reaching `path`: Postgres would otherwise die
 * with "permission denied" deep inside initdb.
 */
function assertTraversable(path: string, ids: { uid: number; gid: number }): void {
  let dir = path;
  const blocking: string[] = [];
  for (;;) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
    let mode: number;
    let owner: number;
    let group: number;
    try {
      ({ mode, uid: owner, gid: group } = statSync(dir));
    } catch {
      continue; // not created yet: it will be made with traversable permissions
    }
    const bit = owner === ids.uid ? 0o100 : group === ids.gid ? 0o010 : 0o001;
    if ((mode & bit) === 0) blocking.push(dir);
  }
  const top = blocking.at(-1);
  if (top) {
    throw new StartupError(
      `Postgres runs as the \`postgres\` user here (root cannot run it, and user namespaces are not allowed), and that user cannot enter ${top}`,
      `run \`npm start\` as an ordinary user, move the project to a directory others can enter, or set DATABASE_URL to a Postgres you run`,
    );
  }
}

/** Fails with one clear line when this process cannot create or write `dir`. */
export function assertWritable(dir: string): void {
  let existing = dir;
  for (;;) {
    try {
      statSync(existing);
      break;
    } catch {
      const parent = dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw new StartupError(
      `cannot write the data directory ${dir} (${existing} is not writable by this user)`,
      'fix its permissions, choose another directory with --data-dir, or set DATABASE_URL to a Postgres you run',
    );
  }
}
