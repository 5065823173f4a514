import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { BundleError } from '../../src/bundle/index.js';

/**
 * Gives the file's tests a `temporaryDir()` that makes a fresh directory named after `prefix`;
 * each is removed after the test that made it.
 */
export function useTemporaryDirs(prefix: string): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** The BundleError `promise` rejects with; the test fails if it resolves or rejects with anything else. */
export async function caughtBundleError(promise: Promise<unknown>): Promise<BundleError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(BundleError);
  return error as BundleError;
}
