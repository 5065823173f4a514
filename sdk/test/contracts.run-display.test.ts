import { describe, expect, it } from 'vitest';
import { attemptLabel, formatDuration, shortCodeDigest } from '../src/contracts/index.js';

describe('shortCodeDigest', () => {
  it('cuts an OCI digest to sha256: and its first 12 hex digits', () => {
    expect(shortCodeDigest(`sha256:0123456789ab${'c'.repeat(52)}`)).toBe('sha256:0123456789ab');
  });

  it('cuts a git commit to its first 12 hex digits, with no sha256: prefix to count', () => {
    expect(shortCodeDigest(`0123456789ab${'f'.repeat(28)}`)).toBe('0123456789ab');
  });

  it('leaves anything that is neither a full OCI digest nor a full commit whole', () => {
    for (const other of ['sha256:0123', 'sha512:abcdef', 'ABCDEF0123456789ABCDEF0123456789ABCDEF01', 'v1.2.3', '']) {
      expect(shortCodeDigest(other)).toBe(other);
    }
  });
});

describe('attemptLabel', () => {
  it('reads "n of allowed" while the run is within its retries', () => {
    expect(attemptLabel({ attempt: 1, maxRetries: 0 })).toBe('1 of 1');
    expect(attemptLabel({ attempt: 3, maxRetries: 2 })).toBe('3 of 3');
  });

  it('names a run retried by hand past its retries rather than saying an impossible "3 of 2"', () => {
    expect(attemptLabel({ attempt: 3, maxRetries: 1 })).toBe('3 (retried by hand after 2)');
  });

  it('names attempts that resumed the run after a wait, which spend no retry', () => {
    expect(attemptLabel({ attempt: 3, maxRetries: 0, resumes: 2 })).toBe('3 (resumed after a wait twice)');
    expect(attemptLabel({ attempt: 2, maxRetries: 0, resumes: 1 })).toBe('2 (resumed after a wait once)');
    expect(attemptLabel({ attempt: 4, maxRetries: 2, resumes: 1 })).toBe('4 (resumed after a wait once; retry 2 of 2)');
    expect(attemptLabel({ attempt: 5, maxRetries: 1, resumes: 1 })).toBe(
      '5 (resumed after a wait once; retried by hand after 1 retry)',
    );
    expect(attemptLabel({ attempt: 6, maxRetries: 0, resumes: 5 })).toBe('6 (resumed after a wait 5 times)');
    // No resumption: as before.
    expect(attemptLabel({ attempt: 2, maxRetries: 2, resumes: 0 })).toBe('2 of 3');
  });
});

describe('formatDuration', () => {
  it('reads a span in its largest unit or two, with tenths of a second under ten seconds', () => {
    const spans: [number, string][] = [
      [850, '850ms'],
      [4_240, '4.2s'],
      [12_340, '12s'],
      [245_000, '4m 05s'],
      [2 * 3_600_000 + 3 * 60_000, '2h 03m'],
      [3 * 86_400_000 + 4 * 3_600_000, '3d 04h'],
    ];
    expect(spans.map(([ms]) => formatDuration(ms))).toEqual(spans.map(([, text]) => text));
  });

  it('reads a negative or non-finite span as the placeholder the caller prints', () => {
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(Number.NaN, '-')).toBe('-');
    expect(formatDuration(Number.POSITIVE_INFINITY, '-')).toBe('-');
  });
});
