import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Model } from './model.js';

/** Keys in sorted order at every level, so the same model always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * HMAC-SHA256 of the model's canonical JSON (the bytes the pipeline stores): whoever loads the model
 * later (a scoring service, the next run) can check it came from this pipeline unaltered, with the
 * same key and without trusting the store in between.
 */
export function signModel(model: Model, key: string): string {
  if (key.length < 16) throw new RangeError('the signing key must be at least 16 characters');
  return createHmac('sha256', key).update(canonicalJson(model)).digest('hex');
}

export function verifyModelSignature(model: Model, key: string, signature: string): boolean {
  const expected = Buffer.from(signModel(model, key), 'hex');
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
