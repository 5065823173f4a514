import { pathToFileURL } from 'node:url';
import { ExternalJobOutcome } from '../contracts/waits.js';
import { describeError, toError } from '../runtime/errors.js';
import { isMainModule } from '../runtime/main-module.js';
import { sendToParent } from '../runtime/send-to-parent.js';
import { externalJobRegistry } from './defer.js';

/*
 * The poll process of a deferred job: the worker spawns `node <this file> <entry> <job> <poll|cancel>`
 * with an IPC channel, in the deployment's bundle directory with its variables and the job's handle
 * in OUTPOST_EXTERNAL_HANDLE (JSON). It loads the bundle, finds the job `deferrable()` registered
 * under that name, polls it once (or asks its system to cancel it) and sends
 * `{t: 'externalStatus', status}` or `{t: 'externalError', error}`. The worker bounds the time and
 * reads stdout and stderr as the poll's log.
 */

export type ExternalJobProcessMessage =
  | { t: 'externalStatus'; status: { state: 'running'; message?: string } | ExternalJobOutcome }
  | { t: 'externalError'; error: string };

const send = (message: ExternalJobProcessMessage): Promise<void> => sendToParent(message);

async function evaluate(
  entry: string,
  name: string,
  action: 'poll' | 'cancel',
  handle: unknown,
  signal: AbortSignal,
): Promise<ExternalJobProcessMessage> {
  try {
    await import(pathToFileURL(entry).href);
  } catch (thrown) {
    return { t: 'externalError', error: `could not load ${entry}: ${describeError(toError(thrown))}` };
  }
  const registry = externalJobRegistry();
  const registered = registry.get(name);
  if (!registered) {
    const found = [...registry.keys()].map((n) => `'${n}'`).join(', ') || 'none';
    return {
      t: 'externalError',
      error: `no job is registered as '${name}' in ${entry} (deferrable() at module scope); jobs found: ${found}`,
    };
  }
  try {
    const job = await registered.job();
    if (action === 'cancel') {
      if (!job.cancel) return { t: 'externalStatus', status: { state: 'cancelled', message: `${job.kind} cannot be cancelled` } };
      await job.cancel(handle);
      return { t: 'externalStatus', status: { state: 'cancelled', message: `cancellation of ${job.kind} requested` } };
    }
    const status = (await job.poll(handle, { signal })) as { state?: unknown; message?: unknown; result?: unknown };
    if (status?.state === 'running') {
      return {
        t: 'externalStatus',
        status: { state: 'running', ...(typeof status.message === 'string' ? { message: status.message.slice(0, 2000) } : {}) },
      };
    }
    const parsed = ExternalJobOutcome.safeParse(
      typeof status?.message === 'string' ? { ...status, message: status.message.slice(0, 2000) } : status,
    );
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return {
        t: 'externalError',
        error: `${job.kind} poll returned an invalid status: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      };
    }
    return { t: 'externalStatus', status: parsed.data };
  } catch (thrown) {
    return { t: 'externalError', error: describeError(toError(thrown)) };
  }
}

async function main(): Promise<number> {
  const [entry, name, action] = process.argv.slice(2);
  if (!entry || !name || (action !== 'poll' && action !== 'cancel')) {
    process.stderr.write('usage: external-job-runner <entry module> <job name> poll|cancel (started by an Outpost worker)\n');
    return 2;
  }
  process.on('disconnect', () => process.exit(1));
  process.setSourceMapsEnabled(true);
  const handle: unknown = JSON.parse(process.env.OUTPOST_EXTERNAL_HANDLE ?? 'null');
  const seconds = Number(process.env.OUTPOST_EXTERNAL_TIMEOUT_SECONDS ?? '60');
  // The job's own requests stop a little before the worker stops the process.
  const signal = AbortSignal.timeout(Math.max(1, seconds - 2) * 1000);
  await send(await evaluate(entry, name, action, handle, signal));
  return 0;
}

if (isMainModule(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`outpost external job runner: ${toError(error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
