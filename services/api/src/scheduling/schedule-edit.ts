import type { ScheduleUpdateRequest } from '@outpost/sdk/contracts';
import { canonicalTimezone, cronProblem, DEFAULT_ANCHOR, type ScheduleFieldError } from './schedule-input.js';
import type { ScheduleDefinition } from './timeline.js';

/**
 * The definition a schedule edit asks for, from the current one and the fields given: a cron keeps
 * the schedule's zone unless a new one comes with it, an interval keeps its anchor, and a zone or an
 * anchor alone changes only that. Checked as on deploy (known zone, a cron that fires); field paths
 * start with `path` (e.g. `body`).
 */
export function editedDefinition(
  current: ScheduleDefinition,
  edit: ScheduleUpdateRequest,
  path: string,
  now: Date,
): { definition: ScheduleDefinition | null; errors: ScheduleFieldError[] } {
  const errors: ScheduleFieldError[] = [];
  const cronIn = (cron: string, zone: string): ScheduleDefinition | null => {
    const timezone = canonicalTimezone(zone);
    if (timezone === null) {
      errors.push({ path: `${path}.timezone`, message: `unknown IANA time zone "${zone}"` });
      return null;
    }
    const normalized = cron.trim().split(/\s+/).join(' ');
    const problem = cronProblem(normalized, timezone, now);
    if (problem) {
      errors.push({ path: `${path}.cron`, message: problem });
      return null;
    }
    return { kind: 'cron', cron: normalized, timezone };
  };

  if (edit.cron !== undefined) {
    const zone = edit.timezone ?? (current.kind === 'cron' ? current.timezone : 'UTC');
    return { definition: cronIn(edit.cron, zone), errors };
  }
  if (edit.intervalSeconds !== undefined) {
    const anchorDate = edit.anchorDate
      ? new Date(edit.anchorDate)
      : current.kind === 'interval'
        ? current.anchorDate
        : DEFAULT_ANCHOR;
    return { definition: { kind: 'interval', intervalSeconds: edit.intervalSeconds, anchorDate }, errors };
  }
  if (edit.timezone !== undefined) {
    if (current.kind !== 'cron') {
      errors.push({ path: `${path}.timezone`, message: 'timezone applies to cron schedules only' });
      return { definition: null, errors };
    }
    return { definition: cronIn(current.cron, edit.timezone), errors };
  }
  if (edit.anchorDate !== undefined) {
    if (current.kind !== 'interval') {
      errors.push({ path: `${path}.anchorDate`, message: 'anchorDate applies to interval schedules only' });
      return { definition: null, errors };
    }
    return { definition: { ...current, anchorDate: new Date(edit.anchorDate) }, errors };
  }
  return { definition: current, errors };
}
