import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/*
 * A name server on 127.0.0.1 for tests (RFC 1035): it answers TXT questions for the names in
 * `records` and NXDOMAIN for any other, over UDP, so lookups run through the real resolver. One
 * question per message, no compression of the question, no EDNS: what c-ares sends.
 */

const TYPE_TXT = 16;
const CLASS_IN = 1;

function readName(message: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = offset;
  for (;;) {
    const length = message[at] ?? 0;
    at += 1;
    if (length === 0) break;
    labels.push(message.subarray(at, at + length).toString('ascii'));
    at += length;
  }
  return { name: labels.join('.').toLowerCase(), next: at };
}

/** A TXT record's RDATA: the value in character-strings of at most 255 bytes. */
function txtData(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length || at === 0; at += 255) {
    const chunk = bytes.subarray(at, at + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
    if (bytes.length === 0) break;
  }
  return Buffer.concat(parts);
}

export class TestDnsServer {
  /** TXT values by lowercase name. */
  readonly records = new Map<string, string[]>();
  /** How many questions it was asked. */
  questions = 0;
  #socket: Socket | null = null;

  async start(): Promise<this> {
    const socket = createSocket('udp4');
    socket.on('message', (message, from) => this.#answer(socket, message, from));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    this.#socket = socket;
    return this;
  }

  /** `127.0.0.1:<port>`, for the API's `dnsServers`. */
  get address(): string {
    const address = this.#socket?.address() as AddressInfo | undefined;
    if (!address) throw new Error('the name server is not started');
    return `127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  #answer(socket: Socket, message: Buffer, from: RemoteInfo): void {
    if (message.length < 12) return;
    this.questions += 1;
    const id = message.readUInt16BE(0);
    const { name, next } = readName(message, 12);
    const type = message.readUInt16BE(next);
    const question = message.subarray(12, next + 4);
    const values = type === TYPE_TXT ? this.records.get(name) : undefined;
    const known = this.records.has(name);
    const answers = (values ?? []).map((value) => {
      const data = txtData(value);
      const head = Buffer.alloc(12);
      head.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      head.writeUInt16BE(TYPE_TXT, 2);
      head.writeUInt16BE(CLASS_IN, 4);
      head.writeUInt32BE(60, 6);
      head.writeUInt16BE(data.length, 10);
      return Buffer.concat([head, data]);
    });
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    // A response, authoritative, recursion desired copied, recursion available; NXDOMAIN for unknown names.
    header.writeUInt16BE(0x8400 | (message.readUInt16BE(2) & 0x0100) | 0x0080 | (known ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, question, ...answers]), from.port, from.address);
  }
}
