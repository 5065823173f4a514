import { describe, expect, it } from 'vitest';
import { formatDuration, formatRelative } from '../src/lib/format.js';

describe('formatRelative', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');

  it('reads a past time in its largest unit, with "ago"', () => {
    expect(formatRelative('2026-12-03T11:57:00Z', now)).toBe('3m ago');
    expect(formatRelative('2026-12-03T10:00:00Z', now)).toBe('2h ago');
    expect(formatRelative('2026-11-30T12:00:00Z', now)).toBe('3d ago');
  });

  it('reads a future time with "in", and a time within a second as "just now"', () => {
    expect(formatRelative('2026-12-03T14:00:00Z', now)).toBe('in 2h');
    expect(formatRelative('2026-12-03T11:59:59.500Z', now)).toBe('just now');
  });

  it('reads a missing or unreadable time as a dash', () => {
    expect(formatRelative(null, now)).toBe('—');
    expect(formatRelative('not a time', now)).toBe('—');
  });

  it("prints durations with the SDK's formatter, as the CLI does", () => {
    expect(formatDuration(245_000)).toBe('4m 05s');
    expect(formatDuration(-5)).toBe('—');
  });
});
