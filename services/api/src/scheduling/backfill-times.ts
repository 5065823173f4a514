import { WindowTimeline } from './partition-windows.js';
import type { Timeline } from './timeline.js';

/**
 * The scheduled times in [start, end), ascending, or null when there are more than `cap` of them
 * (the caller refuses the backfill rather than truncate it silently).
 */
export function timesInRange(timeline: Timeline, start: Date, end: Date, cap: number): Date[] | null {
  // Windows are counted before any is listed: a range over decades is refused without a walk.
  if (timeline instanceof WindowTimeline) return timeline.timesInRange(start, end, cap);
  const times: Date[] = [];
  for (let t = timeline.next(new Date(start.getTime() - 1)); t && t < end; t = timeline.next(t)) {
    if (times.length === cap) return null;
    times.push(t);
  }
  return times;
}
