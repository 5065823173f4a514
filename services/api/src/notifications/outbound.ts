import type { OutboundAllowance } from '../outbound/address.js';
import { outboundRequest } from '../outbound/request.js';
import { ReceiverAnswered } from './delivery-errors.js';

/*
 * Outgoing notification requests go to URLs that workspace members typed in. Each is dialled through
 * outbound/request.ts: every address the host resolves to is checked when the connection is
 * made (not only when the channel is saved), and the connection goes to the checked address.
 * OUTPOST_NOTIFY_ALLOW_PRIVATE_NETWORKS=1 lets self-hosted setups (and tests) reach private networks.
 */

export { OutboundRefused } from '../outbound/address.js';

export interface PostOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  allowance: OutboundAllowance;
}

/** The start of a receiver's answer is all a delivery's error keeps. */
const MAX_RESPONSE_BYTES = 4096;

/**
 * POSTs a notification. Resolves on a 2xx; throws ReceiverAnswered for any other status,
 * OutboundRefused for a refused address and OutboundFailure when no answer came.
 */
export async function postOutbound(target: string, body: string, options: PostOptions): Promise<void> {
  const res = await outboundRequest(target, {
    method: 'POST',
    headers: options.headers,
    body,
    timeoutMs: options.timeoutMs,
    maxResponseBytes: MAX_RESPONSE_BYTES,
    allowance: options.allowance,
  });
  if (res.status >= 200 && res.status < 300) return;
  throw new ReceiverAnswered(res.status, res.body.toString('utf8'));
}

/** The allowance of notification requests from the operator's switch. */
export const notificationAllowance = (allowPrivateNetworks: boolean): OutboundAllowance =>
  allowPrivateNetworks ? 'private-networks' : 'none';
