import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildChildEnv } from '../src/child-env.js';
import { JobConfigError, resolveJobEnv } from '../src/secrets.js';

const run = promisify(execFile);

/*
 * How long a pending wait holds the flow's process before the run suspends is the SDK's
 * OUTPOST_WAIT_HOLD_SECONDS. OUTPOST_ variables are the worker's own (a job's env may not set them,
 * --pass-env does not pass them), so a deployment says it with `jobVariables.waitHoldSeconds` and the
 * worker sets the variable in the flow's environment.
 */

/** The compiled SDK module that reads the variable, next to the runtime's entry point. */
const WAIT_MODULE = new URL('./wait.js', import.meta.resolve('@outpost/sdk/runtime')).href;

/** What the SDK's holdSeconds() answers in a real child process spawned with `env`. */
async function holdSecondsInChild(env: Record<string, string>): Promise<number> {
  const script = `const { holdSeconds } = await import(${JSON.stringify(WAIT_MODULE)}); process.stdout.write(String(holdSeconds()));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env });
  return Number(stdout);
}

const identity = () => ({ id: randomUUID(), attempt: 1, flowName: 'nightly' });
const WORKER_ENV = { PATH: process.env.PATH, OUTPOST_API_KEY: 'op_workerkey0000000000000000' };

describe("a deployment's wait hold reaches the flow process", () => {
  it("sets OUTPOST_WAIT_HOLD_SECONDS from jobVariables.waitHoldSeconds, and the SDK in the flow's process reads it", async () => {
    const resolved = await resolveJobEnv({ waitHoldSeconds: 600, env: { MODE: 'nightly' } }, WORKER_ENV);
    expect(resolved.waitHoldSeconds).toBe(600);
    const env = buildChildEnv({
      workerEnv: WORKER_ENV,
      passEnv: [],
      jobEnv: resolved.env,
      run: identity(),
      waitHoldSeconds: resolved.waitHoldSeconds,
    });
    expect(env.OUTPOST_WAIT_HOLD_SECONDS).toBe('600');
    expect(await holdSecondsInChild(env)).toBe(600);

    // Zero suspends at once; it is a value, not "unset".
    const zero = await resolveJobEnv({ waitHoldSeconds: 0 }, WORKER_ENV);
    expect(
      await holdSecondsInChild(
        buildChildEnv({ workerEnv: WORKER_ENV, passEnv: [], jobEnv: {}, run: identity(), waitHoldSeconds: zero.waitHoldSeconds }),
      ),
    ).toBe(0);
  });

  it("leaves the SDK's default of 60 s when the deployment does not say, whatever the worker's own environment holds", async () => {
    const resolved = await resolveJobEnv({}, WORKER_ENV);
    expect(resolved.waitHoldSeconds).toBeNull();
    const env = buildChildEnv({
      // Set on the worker, it is the worker's configuration namespace and stays there (--pass-env refuses OUTPOST_ names).
      workerEnv: { ...WORKER_ENV, OUTPOST_WAIT_HOLD_SECONDS: '5' },
      passEnv: [],
      jobEnv: resolved.env,
      run: identity(),
      waitHoldSeconds: resolved.waitHoldSeconds,
    });
    expect(env.OUTPOST_WAIT_HOLD_SECONDS).toBeUndefined();
    expect(await holdSecondsInChild(env)).toBe(60);
  });

  it('refuses a hold that is not a number of seconds from 0 to a day, naming the job variable', async () => {
    for (const bad of [-1, '600', 86_401, Number.NaN]) {
      const refused = resolveJobEnv({ waitHoldSeconds: bad }, WORKER_ENV);
      await expect(refused).rejects.toBeInstanceOf(JobConfigError);
      await expect(refused).rejects.toThrow(/^job variable waitHoldSeconds must be a number of seconds from 0 to 86400/);
    }
    // The variable itself stays the worker's to set.
    await expect(resolveJobEnv({ env: { OUTPOST_WAIT_HOLD_SECONDS: '600' } }, WORKER_ENV)).rejects.toThrow(/reserved/);
  });
});
