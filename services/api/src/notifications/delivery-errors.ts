import type { NotificationDelivery, Role } from '@outpost/sdk/contracts';
import type { Principal } from '../auth/principal.js';
import { OutboundRefused } from '../outbound/address.js';
import { OutboundFailure } from '../outbound/request.js';

/*
 * A delivery's last error says what the receiver answered and why a connection failed: the status,
 * the start of the body, the network error. Shown to everyone who can read deliveries, that is a
 * port scanner and a reader of internal pages (a channel's URL is chosen by its author; the answer
 * is what is behind it). So the error is stored as "<lead> — <detail>": the lead is one of a few
 * fixed sentences (at most the status class), the detail is for owners and admins only.
 */

const SEPARATOR = ' — ';

export const DELIVERY_LEADS = {
  refused: 'the destination is not allowed',
  unreachable: 'the receiver could not be reached',
  mail: 'the mail server did not accept the message',
  other: 'the delivery failed',
} as const;

/** Roles that see a delivery's whole error: those who also administer the workspace. */
const DETAIL_READERS: readonly Role[] = ['owner', 'admin'];

/** A receiver answered with something other than 2xx. */
export class ReceiverAnswered extends Error {
  override readonly name = 'ReceiverAnswered';
  constructor(
    readonly status: number,
    body: string,
  ) {
    const said = body.replace(/\s+/g, ' ').trim().slice(0, 200);
    super(`${statusLead(status)}${SEPARATOR}HTTP ${status}${said ? `: ${said}` : ''}`);
  }
}

const statusLead = (status: number): string =>
  status >= 100 && status <= 599 ? `the receiver answered HTTP ${Math.floor(status / 100)}xx` : 'the receiver answered';

/** The stored text of a failed attempt: a fixed lead anyone may read, then the detail. */
export function failureText(error: unknown, kind: string | null): string {
  if (error instanceof ReceiverAnswered) return error.message;
  const detail = error instanceof Error ? error.message : String(error);
  const lead =
    error instanceof OutboundRefused
      ? DELIVERY_LEADS.refused
      : error instanceof OutboundFailure
        ? DELIVERY_LEADS.unreachable
        : kind === 'email'
          ? DELIVERY_LEADS.mail
          : DELIVERY_LEADS.other;
  return `${lead}${SEPARATOR}${detail}`;
}

// Sentences the control plane writes itself about a channel (deleted, disabled, no secret, no SMTP
// server, recipients not confirmed, mail quota): facts of the workspace, safe for every reader.
const OWN_SENTENCES = /^(the channel |the webhook channel |the server has no |none of the channel|not sent: )/;
// Rows written before the lead existed: "the receiver answered HTTP 503: <body>".
const UNLED_STATUS = /^the receiver answered HTTP (\d)\d\d\b/;

/** What a reader who does not administer the workspace sees of a stored error. */
export function leadOf(stored: string): string {
  const cut = stored.indexOf(SEPARATOR);
  if (cut >= 0) return stored.slice(0, cut);
  const status = UNLED_STATUS.exec(stored);
  if (status) return `the receiver answered HTTP ${status[1]}xx`;
  if (OWN_SENTENCES.test(stored)) return stored;
  // Anything else may be a network error's text: withheld.
  return DELIVERY_LEADS.other;
}

export function mayReadDeliveryDetail(principal: Principal): boolean {
  return principal.kind !== 'run_token' && DETAIL_READERS.includes(principal.role);
}

/** The delivery as this principal may see it: the whole error for owners and admins, its lead for the rest. */
export function deliveryFor(principal: Principal, delivery: NotificationDelivery): NotificationDelivery {
  if (delivery.lastError === null || mayReadDeliveryDetail(principal)) return delivery;
  return { ...delivery, lastError: leadOf(delivery.lastError) };
}
