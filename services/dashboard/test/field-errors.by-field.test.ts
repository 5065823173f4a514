import { describe, expect, it } from 'vitest';
import type { ApiFailure } from '../src/api/client.js';
import { fieldErrorsByField, parseLimit } from '../src/lib/field-errors.js';
import { refused } from './refused.support.js';

describe('field errors', () => {
  it('groups problems by the body field they are about, keeping the path inside a nested document', () => {
    const byField = fieldErrorsByField(
      refused(422, [
        { path: 'body.concurrencyLimit', message: 'must be at most 100000' },
        { path: 'body.baseJobTemplate.spec.backoffLimit', message: 'must be 0 or absent' },
        { path: 'body.baseJobTemplate.spec.template.spec.containers[0].image', message: 'is required' },
        { path: 'body.baseJobTemplate', message: 'must be a batch/v1 Job manifest (an object)' },
      ]),
    );
    expect(byField).toEqual({
      concurrencyLimit: ['must be at most 100000'],
      baseJobTemplate: [
        'spec.backoffLimit: must be 0 or absent',
        'spec.template.spec.containers[0].image: is required',
        'must be a batch/v1 Job manifest (an object)',
      ],
    });
  });

  it('has nothing to say about fields when the failure is not a refusal with field errors', () => {
    expect(fieldErrorsByField({ ok: false, kind: 'network_error', message: 'down', cause: null } as ApiFailure)).toEqual({});
  });

  it('reads a blank limit as none, a whole number as itself and anything else as not a limit', () => {
    expect(parseLimit('  ')).toBeNull();
    expect(parseLimit(' 12 ')).toBe(12);
    expect(parseLimit('0')).toBe(0);
    expect(parseLimit('1.5')).toBeUndefined();
    expect(parseLimit('-1')).toBeUndefined();
    expect(parseLimit('seven')).toBeUndefined();
  });
});
