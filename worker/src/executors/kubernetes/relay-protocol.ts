import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';

/*
 * The relay between a worker and the pods it started: one TLS connection per pod (relay-tls.ts:
 * the pod checks the worker's key against its pin), newline-delimited JSON frames read with a bound
 * (readFrames). It carries the runtime protocol (the messages a flow process and its worker exchange
 * over Node IPC) reliably across reconnects: each side numbers its `msg` frames within a session,
 * acknowledges what it received, and re-sends what the other side has not acknowledged. A session
 * is one worker process's link to one attempt; a restarted worker starts a new one, and the pod
 * then re-sends every unacknowledged frame and every rpc request still unanswered.
 *
 * pod → worker   hello { runId, attempt, token, resume?, session, received, hasBundle, node? }
 *                msg { seq, m }   ack { seq }
 * worker → pod   welcome { session, received, resume }   (received null: a new session, re-send everything)
 *                bundle { entry, env, files: [{ path, mode, data (base64) }] }   (when hasBundle is false)
 *                msg { seq, m }   ack { seq }   refused { reason }
 *
 * The token proves the attempt; it is used once. The first connection that proves it owns the
 * attempt and is welcomed with a resume proof (a MAC over a fresh nonce); every later connection
 * for the attempt must bring that proof, so a second holder of the token can neither replace the
 * pod's connection nor receive its bundle. A worker restarted with the same API key verifies the
 * proof without having issued it, and takes back the pods it adopts.
 */

export type PodFrame =
  | {
      t: 'hello';
      runId: string;
      attempt: number;
      token: string;
      /** The proof the pod was welcomed with on its first connection; absent on that first one. */
      resume?: string;
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
  | { t: 'welcome'; session: string; received: number | null; resume: string }
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

/** A fresh resume proof for the pod that took an attempt: `<nonce>.<HMAC of the attempt and nonce>`. */
export function resumeProof(key: Buffer, runId: string, attempt: number, nonce = randomBytes(16).toString('hex')): string {
  return `${nonce}.${createHmac('sha256', key).update(`resume#${runId}#${attempt}#${nonce}`).digest('hex')}`;
}

/** The nonce of a resume proof this key made for this attempt, or null. */
export function resumeNonce(key: Buffer, runId: string, attempt: number, proof: string): string | null {
  const dot = proof.indexOf('.');
  const nonce = proof.slice(0, dot);
  if (dot < 0 || !/^[0-9a-f]{32}$/.test(nonce)) return null;
  const expected = Buffer.from(resumeProof(key, runId, attempt, nonce), 'utf8');
  const given = Buffer.from(proof, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given) ? nonce : null;
}

/** The longest frame a pod accepts from its worker: a bundle travels as one frame. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/**
 * The longest frame a connection may send before its hello is accepted: a hello is a few hundred
 * bytes, and until it proves an attempt nobody knows who is on the other end.
 */
export const HELLO_FRAME_BYTES = 8 * 1024;

/**
 * The longest frame an accepted pod may send its worker: one runtime message, whose largest bodies
 * (a log batch, 5 MiB; 500 events of 16 KiB) are bounded by the API well below this.
 */
export const POD_FRAME_BYTES = 16 * 1024 * 1024;

/** Writes one frame; false when the socket is gone. */
export function writeFrame(socket: Duplex, frame: PodFrame | WorkerFrame): boolean {
  if (socket.destroyed || !socket.writable) return false;
  try {
    socket.write(`${JSON.stringify(frame)}\n`);
    return true;
  } catch {
    return false;
  }
}

/** How a connection's frames are read; `limit` may be raised once the other end proved who it is. */
export interface FrameReader {
  /** The longest frame, in bytes without its newline, taken from now on; a longer one ends the connection. */
  limit: number;
}

/**
 * Calls `onFrame` with each frame read from the socket. A frame longer than the reader's limit (its
 * newline not within `limit` bytes), a line that is not a JSON object, or an `onFrame` that throws
 * ends this connection only: `onProblem` hears why. Bytes are kept only up to the limit, so a
 * peer that never sends a newline costs at most `limit` bytes of memory.
 */
export function readFrames(
  socket: Duplex,
  limit: number,
  onFrame: (frame: Record<string, unknown>) => void,
  onProblem: (problem: string) => void = () => {},
): FrameReader {
  const reader: FrameReader = { limit };
  let pending: Buffer[] = [];
  let size = 0;
  const stop = (problem: string) => {
    pending = [];
    size = 0;
    socket.destroy();
    onProblem(problem);
  };
  const take = (line: Buffer): boolean => {
    let frame: unknown;
    try {
      frame = JSON.parse(line.toString('utf8'));
    } catch {
      stop('a frame that is not JSON');
      return false;
    }
    if (!frame || typeof frame !== 'object' || Array.isArray(frame)) {
      stop('a frame that is not a JSON object');
      return false;
    }
    try {
      onFrame(frame as Record<string, unknown>);
    } catch (error) {
      stop(`a frame that could not be handled: ${(error as Error).message}`);
      return false;
    }
    return !socket.destroyed;
  };
  socket.on('data', (chunk: Buffer) => {
    if (socket.destroyed) return;
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (size + piece.length > reader.limit) return stop(`a frame longer than ${reader.limit} bytes`);
      const line = size === 0 ? piece : Buffer.concat([...pending, piece], size + piece.length);
      pending = [];
      size = 0;
      if (!take(line)) return;
    }
    const rest = chunk.subarray(start);
    if (rest.length === 0) return;
    if (size + rest.length > reader.limit) return stop(`a frame longer than ${reader.limit} bytes`);
    pending.push(rest);
    size += rest.length;
  });
  // A reset or TLS error ends this connection; 'close' follows.
  socket.on('error', () => {});
  return reader;
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
