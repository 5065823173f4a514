import { readFileSync, readlinkSync } from 'node:fs';

/*
 * The CPU time of one thread of this process, as Linux reports it under /proc. The CEL sandbox
 * judges an evaluation by the CPU its thread spent on it, not by the wall clock: on a loaded
 * machine a trivial expression can wait off the CPU for longer than its whole deadline, and a
 * tenant is not to be charged for the machine's load. Elsewhere (no /proc) there is no thread
 * clock and the sandbox falls back to the wall clock.
 */

/** The calling thread's kernel id (from /proc/thread-self), or null where the system does not say. */
export function currentThreadId(): number | null {
  try {
    const match = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Clock ticks per second of /proc's stat times (USER_HZ, 100 on every Linux architecture Node runs on). */
const USER_HZ = 100;

/**
 * A reader of thread `tid`'s CPU time so far in milliseconds (user and system), or null when this
 * system has no such clock. The reader answers null once the thread is gone. It reads
 * `schedstat` (nanoseconds on the CPU) where the kernel keeps it, else `stat`'s utime and stime
 * (10 ms ticks).
 */
export function threadCpuClock(tid: number): (() => number | null) | null {
  const task = `/proc/self/task/${tid}`;
  const fromSchedstat = () => Number(readFileSync(`${task}/schedstat`, 'latin1').split(' ', 1)[0]) / 1e6;
  const fromStat = () => {
    const stat = readFileSync(`${task}/stat`, 'latin1');
    // Fields after the command's closing parenthesis start at the third (state); utime is the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  };
  for (const read of [fromSchedstat, fromStat]) {
    let first: number;
    try {
      first = read();
    } catch {
      continue;
    }
    if (!Number.isFinite(first)) continue;
    return () => {
      try {
        const ms = read();
        return Number.isFinite(ms) ? ms : null;
      } catch {
        return null;
      }
    };
  }
  return null;
}
