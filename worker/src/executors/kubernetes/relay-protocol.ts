import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';

/*
 * The relay between a worker and the pods it started: one TCP connection per pod, newline-delimited
 * JSON frames. It carries the runtime protocol (the messages a flow process and its worker exchange
 * over Node IPC) reliably across reconnects: each side numbers its `msg` frames within a session,
 * acknowledges what it received, and re-sends what the other side has not acknowledged. A session
 * is one worker process's link to one attempt; a restarted worker starts a new one, and the pod
 * then re-sends every unacknowledged frame and every rpc request still unanswered.
 *
 * pod → worker   hello { runId, attempt, token, session, received, hasBundle, node? }
 *                msg { seq, m }   ack { seq }
 * worker → pod   welcome { session, received }   (received null: a new session, re-send everything)
 *                bundle { entry, env, files: [{ path, mode, data (base64) }] }   (when hasBundle is false)
 *                msg { seq, m }   ack { seq }   refused { reason }
 */

export type PodFrame =
  | {
      t: 'hello';
      runId: string;
      attempt: number;
      token: string;
      /** The worker session the pod last talked to, and the last of its frames the pod received. */
      session: string | null;
      received: number;
      hasBundle: boolean;
      /** The Node.js version the pod runs the flow on (`v20.19.0`), for the run's manifest; absent from older pods. */
      node?: string;
    }
  | { t: 'msg'; seq: number; m: unknown }
  | { t: 'ack'; seq: number };

export interface BundleFile {
  path: string;
  mode: number;
  data: string;
}

export type WorkerFrame =
  | { t: 'welcome'; session: string; received: number | null }
  | { t: 'bundle'; entry: string; env: Record<string, string>; files: BundleFile[] }
  | { t: 'msg'; seq: number; m: unknown }
  | { t: 'ack'; seq: number }
  | { t: 'refused'; reason: string };

/** The key a worker signs relay tokens with, derived from its API key: a restarted worker with the same key accepts its pods. */
export function relayKey(apiKey: string): Buffer {
  return createHmac('sha256', apiKey).update('outpost-relay-v1').digest();
}

/** The token a pod proves its attempt with: HMAC-SHA256 of `<runId>#<attempt>`. */
export function relayToken(key: Buffer, runId: string, attempt: number): string {
  return createHmac('sha256', key).update(`${runId}#${attempt}`).digest('hex');
}

export function tokenMatches(key: Buffer, runId: string, attempt: number, token: string): boolean {
  const expected = Buffer.from(relayToken(key, runId, attempt), 'utf8');
  const given = Buffer.from(token, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The longest frame either side accepts: a bundle travels as one frame. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Writes one frame; false when the socket is gone. */
export function writeFrame(socket: Socket, frame: PodFrame | WorkerFrame): boolean {
  if (socket.destroyed || !socket.writable) return false;
  try {
    socket.write(`${JSON.stringify(frame)}\n`);
    return true;
  } catch {
    return false;
  }
}

/** Calls `onFrame` with each frame read from the socket; lines that are not JSON objects end the connection. */
export function readFrames(socket: Socket, onFrame: (frame: Record<string, unknown>) => void): void {
  const lines = createInterface({ input: socket, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => {
    if (line.length > MAX_FRAME_BYTES) {
      socket.destroy();
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(line);
    } catch {
      socket.destroy();
      return;
    }
    if (!frame || typeof frame !== 'object' || Array.isArray(frame)) {
      socket.destroy();
      return;
    }
    onFrame(frame as Record<string, unknown>);
  });
  lines.on('error', () => socket.destroy());
  socket.on('error', () => {});
}

/**
 * One direction of a session: frames numbered from 1, kept until the other side acknowledges them,
 * re-sent after a reconnect.
 */
export class Outbox {
  private seq = 0;
  private unacked: { seq: number; m: unknown }[] = [];

  /** Numbers a message and keeps it until acknowledged; returns its frame. */
  add(m: unknown): { t: 'msg'; seq: number; m: unknown } {
    this.seq += 1;
    const frame = { t: 'msg' as const, seq: this.seq, m };
    this.unacked.push({ seq: frame.seq, m });
    return frame;
  }

  ack(seq: number): void {
    if (this.unacked.length > 0 && this.unacked[0]!.seq <= seq) this.unacked = this.unacked.filter((f) => f.seq > seq);
  }

  /** What the other side has not acknowledged, in order. */
  pending(): { t: 'msg'; seq: number; m: unknown }[] {
    return this.unacked.map((f) => ({ t: 'msg' as const, seq: f.seq, m: f.m }));
  }

  get size(): number {
    return this.unacked.length;
  }
}
