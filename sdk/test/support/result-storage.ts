import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/**
 * Gives each test of the file a result storage directory of its own, named after `prefix`:
 * OUTPOST_RESULT_STORAGE points at it and OUTPOST_WAIT_HOLD_SECONDS is unset before the test;
 * after it the environment is as it was and the directory is gone. Returns the current test's
 * directory.
 */
export function useResultStorageDir(prefix: string): () => string {
  const savedEnv = { ...process.env };
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
    process.env.OUTPOST_RESULT_STORAGE = `file://${dir}`;
    delete process.env.OUTPOST_WAIT_HOLD_SECONDS;
  });
  afterEach(async () => {
    process.env = { ...savedEnv };
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('the result storage directory exists only while a test runs');
    return dir;
  };
}
