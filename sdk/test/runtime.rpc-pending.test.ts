import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IpcChannel, RpcFailedError } from '../src/runtime/ipc-channel.js';
import { MemoryWorker, type Rpc } from './runtime.memory-worker.js';

const TIMEOUT_MS = 1_000;

/** A worker that holds every rpc's answer until released, and the channel of a flow process talking to it. */
function heldChannel() {
  const worker = new MemoryWorker();
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const rpcs: Rpc[] = [];
  worker.gate = (rpc) => {
    rpcs.push(rpc);
    return held;
  };
  return { worker, channel: new IpcChannel(worker, TIMEOUT_MS), release, rpcs };
}

describe('an rpc the worker is still serving', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits past the rpc timeout for as long as the worker keeps saying it is on it, then takes the reply', async () => {
    const { worker, channel, release, rpcs } = heldChannel();
    const reply = channel.rpc('setState', { transitionId: crypto.randomUUID(), state: { type: 'COMPLETED' } });
    let settled = false;
    void reply.finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    const id = rpcs[0]?.id;
    expect(id).toBeTypeOf('number');
    // Ten timeouts long, the API away: the worker says every half timeout that it is still retrying.
    for (let i = 0; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(TIMEOUT_MS / 2);
      worker.emit('message', { t: 'rpcPending', id });
    }
    expect(settled).toBe(false);
    release();
    await expect(reply).resolves.toMatchObject({ status: 'ACCEPT', state: { type: 'COMPLETED' } });
    channel.close();
  });

  it('fails after one timeout when the worker goes quiet, and ignores word about another rpc', async () => {
    const { worker, channel, rpcs } = heldChannel();
    const reply = channel.rpc('setState', { transitionId: crypto.randomUUID(), state: { type: 'COMPLETED' } });
    const failed = expect(reply).rejects.toThrow(RpcFailedError);
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS / 2);
    worker.emit('message', { t: 'rpcPending', id: (rpcs[0]?.id ?? 0) + 1000 });
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS / 2 + 1);
    await failed;
    channel.close();
  });
});
