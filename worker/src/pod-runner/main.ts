import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { backoffDelay } from '../backoff.js';
import { runnerPath } from '../executors/flow-process.js';
import { type BundleFile, MAX_FRAME_BYTES, Outbox, readFrames, writeFrame } from '../executors/kubernetes/relay-protocol.js';
import { connectPinned, RelayPinMismatch } from '../executors/kubernetes/relay-tls.js';
import { liveGroupMembers, terminateGroup } from '../process-group.js';

/*
 * `outpost-pod-runner`: the command of every pod the Kubernetes executor starts. It dials its
 * worker's relay over TLS (OUTPOST_RELAY_ADDRESS; the server must hold the key OUTPOST_RELAY_PIN
 * names, or it is sent nothing), proves the attempt with OUTPOST_RELAY_TOKEN once and its later
 * connections with the resume proof the worker welcomed it with, receives
 * the verified bundle and the run's variables, writes the bundle to a temporary directory and runs
 * the SDK runner there with an IPC channel, as the process executor does on the worker's machine.
 * Runtime messages go both ways over the relay; the flow's output is the pod's output, which the
 * worker reads from the Kubernetes API. If the relay drops, the flow goes on: messages wait, the
 * pod reconnects with backoff, and after OUTPOST_RELAY_GIVE_UP without its worker the flow is
 * stopped and the pod exits non-zero.
 */

const GIVE_UP_DEFAULT_MS = 300_000;

function fail(message: string): never {
  process.stderr.write(`outpost-pod-runner: ${message}\n`);
  process.exit(70);
}

function safePath(root: string, relative: string): string {
  const target = resolve(root, relative);
  if (!target.startsWith(root + sep)) fail(`the bundle holds a path outside its directory: ${relative}`);
  return target;
}

function writeBundle(files: BundleFile[]): string {
  const root = mkdtempSync(join(tmpdir(), 'outpost-bundle-'));
  for (const file of files) {
    const target = safePath(root, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, Buffer.from(file.data, 'base64'));
    chmodSync(target, file.mode & 0o777);
  }
  return root;
}

async function main(): Promise<number> {
  const address = process.env.OUTPOST_RELAY_ADDRESS ?? '';
  const token = process.env.OUTPOST_RELAY_TOKEN ?? '';
  const pin = process.env.OUTPOST_RELAY_PIN ?? '';
  const runId = process.env.OUTPOST_RUN_ID ?? '';
  const attempt = Number(process.env.OUTPOST_RUN_ATTEMPT ?? '');
  const at = address.lastIndexOf(':');
  if (at <= 0 || !token || !pin || !runId || !Number.isInteger(attempt)) {
    fail(
      'start this through an Outpost worker (OUTPOST_RELAY_ADDRESS, OUTPOST_RELAY_TOKEN, OUTPOST_RELAY_PIN, OUTPOST_RUN_ID are not set)',
    );
  }
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  const giveUpMs = Number(process.env.OUTPOST_RELAY_GIVE_UP_MS ?? GIVE_UP_DEFAULT_MS);

  const outbox = new Outbox();
  /** Rpc requests (by rpc id) not answered yet, with the frame that carried each: re-sent to a new worker session. */
  const unanswered = new Map<number, { t: 'msg'; seq: number; m: unknown }>();
  let session: string | null = null;
  /** The proof this pod was welcomed with: the token is good for one connection, later ones bring this. */
  let resume: string | null = null;
  let received = 0;
  let socket: Socket | null = null;
  let child: ReturnType<typeof spawn> | null = null;
  let childExit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let bundleReady!: (bundle: { dir: string; entry: string; env: Record<string, string> }) => void;
  const bundle = new Promise<{ dir: string; entry: string; env: Record<string, string> }>((r) => (bundleReady = r));
  let haveBundle = false;
  let entry = '';
  let lastContact = Date.now();
  let ended = false;
  let drained: (() => void) | null = null;

  const toChild = (m: unknown) => {
    if (!child?.connected) return;
    const message = m as { t?: unknown; id?: unknown };
    // The worker names the bundle's entry as it sees it; here the bundle lives in this pod's directory.
    const out = message.t === 'start' ? { ...(m as object), entry, cwd: undefined } : m;
    if (message.t === 'start') delete (out as { cwd?: unknown }).cwd;
    child.send(out as object, () => {});
  };

  const fromChild = (m: unknown) => {
    const frame = outbox.add(m);
    const message = m as { t?: unknown; id?: unknown };
    if (message.t === 'rpc' && typeof message.id === 'number') unanswered.set(message.id, frame);
    if (socket) writeFrame(socket, frame);
  };

  const onFrame = (s: Socket, frame: Record<string, unknown>) => {
    if (s !== socket) return;
    lastContact = Date.now();
    switch (frame.t) {
      case 'welcome': {
        if (typeof frame.resume === 'string') resume = frame.resume;
        const fresh = frame.session !== session || typeof frame.received !== 'number';
        if (frame.session !== session) received = 0;
        session = String(frame.session);
        let resend = outbox.pending();
        if (!fresh) {
          outbox.ack(frame.received as number);
          resend = outbox.pending();
        } else {
          // A new worker session: whatever the old one took but never answered is asked again.
          const seqs = new Set(resend.map((f) => f.seq));
          resend = [...resend, ...[...unanswered.values()].filter((f) => !seqs.has(f.seq))].sort((a, b) => a.seq - b.seq);
        }
        // The bundle frame (when asked for) comes first; re-sends follow once the flow runs.
        void bundle.then(() => {
          if (s === socket) for (const f of resend) writeFrame(s, f);
        });
        return;
      }
      case 'bundle': {
        if (haveBundle) return;
        haveBundle = true;
        const files = Array.isArray(frame.files) ? (frame.files as BundleFile[]) : [];
        const dir = writeBundle(files);
        bundleReady({ dir, entry: safePath(dir, String(frame.entry)), env: (frame.env ?? {}) as Record<string, string> });
        return;
      }
      case 'msg': {
        if (typeof frame.seq !== 'number' || frame.seq <= received) return;
        received = frame.seq;
        const m = frame.m as { t?: unknown; id?: unknown };
        if (m?.t === 'reply' && typeof m.id === 'number') unanswered.delete(m.id);
        toChild(frame.m);
        writeFrame(s, { t: 'ack', seq: received });
        return;
      }
      case 'ack':
        if (typeof frame.seq === 'number') outbox.ack(frame.seq);
        if (outbox.size === 0) drained?.();
        return;
      case 'refused':
        void abandon(`the worker refused this pod: ${String(frame.reason)}`);
    }
  };

  const dial = () => {
    if (ended) return;
    let failures = 0;
    const attemptConnect = () => {
      if (ended) return;
      const s = connectPinned({ host, port, pin }, () => {
        failures = 0;
        socket = s;
        lastContact = Date.now();
        writeFrame(s, {
          t: 'hello',
          runId,
          attempt,
          token,
          ...(resume ? { resume } : {}),
          session,
          received,
          hasBundle: haveBundle,
          node: process.version,
        });
      });
      s.setNoDelay(true);
      s.setKeepAlive(true, 10_000);
      // Another key at the relay's address is not this pod's worker: it never gets the token, and the pod gives up.
      s.once('error', (error) => {
        if (error instanceof RelayPinMismatch) void abandon(`${error.message}; not sending it this attempt's token`);
      });
      readFrames(s, MAX_FRAME_BYTES, (frame) => onFrame(s, frame));
      s.once('close', () => {
        if (socket === s) socket = null;
        if (ended) return;
        failures++;
        if (Date.now() - lastContact > giveUpMs) {
          process.stderr.write(
            `outpost-pod-runner: no contact with the worker for ${Math.round(giveUpMs / 1000)} s; stopping the flow\n`,
          );
          void stopChild().then(() => process.exit(75));
          return;
        }
        setTimeout(attemptConnect, Math.min(backoffDelay(failures), 5_000));
      });
    };
    attemptConnect();
  };

  const stopChild = async () => {
    if (child?.pid && !childExit) await terminateGroup(child.pid, 5_000);
  };

  /** Ends the pod for good: the flow (if it runs) is stopped first, so nothing of it outlives the runner. */
  const abandon = async (message: string): Promise<void> => {
    if (ended) return;
    ended = true;
    process.stderr.write(`outpost-pod-runner: ${message}\n`);
    await stopChild();
    process.exit(70);
  };

  // Kubernetes stops a pod with SIGTERM: the flow (and whatever it started) gets it too, then the grace.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (child?.pid && !childExit) void terminateGroup(child.pid, 30_000);
      else process.exit(143);
    });
  }

  dial();
  const { dir, entry: entryPath, env } = await bundle;
  entry = entryPath;
  const { OUTPOST_RELAY_TOKEN: _token, OUTPOST_RELAY_PIN: _pin, ...podEnv } = process.env;
  child = spawn(process.execPath, [runnerPath()], {
    cwd: dir,
    // The worker names its own copy of the bundle; the flow's is this pod's.
    env: { ...podEnv, ...env, OUTPOST_BUNDLE_DIR: dir } as NodeJS.ProcessEnv,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  child.on('message', fromChild);
  child.on('error', () => {});
  const spawned = child;
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    spawned.once('exit', (code, signal) => r({ code, signal })),
  );
  childExit = exit;
  // Whatever the flow left running in its group ends with it, as on the worker's own machine.
  if (spawned.pid && liveGroupMembers(spawned.pid).length > 0) await terminateGroup(spawned.pid, 5_000);
  // Every message of the flow reaches the worker before the pod ends (within the reconnect bound).
  if (outbox.size > 0) {
    await new Promise<void>((r) => {
      drained = r;
      const check = setInterval(() => {
        if (outbox.size === 0 || Date.now() - lastContact > giveUpMs) {
          clearInterval(check);
          r();
        }
      }, 200);
    });
  }
  ended = true;
  (socket as Socket | null)?.end();
  if (exit.signal) return 128 + (signalNumber(exit.signal) ?? 9);
  return exit.code ?? 1;
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal];
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`outpost-pod-runner: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(70);
  },
);
