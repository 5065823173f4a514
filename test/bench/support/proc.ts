import { readFileSync } from 'node:fs';

/** USER_HZ: what Linux counts `/proc/<pid>/stat` times in, 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The fields of `/proc/<pid>/stat` after the command name, so `[0]` is the state and `[1]` the
 * parent's pid (fields 3 and 4 of proc(5)); null once the process has gone.
 */
export function procStatFields(pid: number | string): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after its last ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds, user and system, of the process whose stat fields these are (utime and stime, fields 14 and 15). */
export function cpuSecondsOf(fields: readonly string[]): number {
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
