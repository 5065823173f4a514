import { describe, expect, it } from 'vitest';
import { attemptLabel, shortCodeDigest } from '../src/contracts/index.js';

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
});
