import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * A flow runs as the leader of its own process group (spawned `detached`), so everything it starts
 * — shells, Python, grandchildren — can be signalled at once with `kill(-pgid)`.
 */

/** Members of a process group that are still running (zombies excluded). Linux reads /proc; elsewhere, kill(0). */
export function liveGroupMembers(pgid: number): number[] {
  if (!signalGroup(pgid, 0)) return [];
  if (process.platform !== 'linux') return [pgid];
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [pgid];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    if (info && info.pgrp === pgid && info.state !== 'Z' && info.state !== 'X') members.push(Number(entry));
  }
  return members;
}

/**
 * A process that has exited but was not reaped yet (its parent is gone and the init process does
 * not reap, as in some minimal containers) still answers kill(pid, 0); /proc tells it apart.
 */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  const info = processInfo(pid);
  return info !== null && info.state !== 'Z' && info.state !== 'X';
}

function processInfo(pid: number): { state: string; pgrp: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name sits in parentheses and may itself contain spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  if (!state || !Number.isInteger(pgrp)) return null;
  return { state, pgrp };
}

/** Sends `signal` to every process of the group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls until no member of the group runs; true when it emptied within `timeoutMs`. */
export async function waitForGroupExit(pgid: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (liveGroupMembers(pgid).length === 0) return true;
    if (Date.now() >= deadline || signal?.aborted) return false;
    await delay(Math.min(50, Math.max(1, deadline - Date.now())));
  }
}

/**
 * SIGTERM the group, give it `graceMs` to exit, then SIGKILL whatever is left and wait for the
 * kernel to finish it. Resolves once the group is empty (or SIGKILL could not empty it in 5 s,
 * which only happens to processes stuck in uninterruptible I/O).
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (liveGroupMembers(pgid).length === 0) return;
  signalGroup(pgid, 'SIGTERM');
  if (graceMs > 0 && (await waitForGroupExit(pgid, graceMs))) return;
  await killGroup(pgid);
}

/** SIGKILL the group at once and wait until it is gone. */
export async function killGroup(pgid: number): Promise<void> {
  signalGroup(pgid, 'SIGKILL');
  await waitForGroupExit(pgid, 5_000);
}
