import type { MemberRole, Workspace } from '@outpost/sdk/contracts';
import type { OutgoingMail } from './mailer.js';

/*
 * The mail the control plane sends. Plain text, short, and each with one link that only the
 * address's owner receives. Names of workspaces are shown as their admins set them.
 */

const until = (expiresAt: Date) => `${expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const IGNORE = 'If you did not expect this message, ignore it: nothing happens unless the link is used.';

/** A message of a few lines, its one link on a line of its own, then what to do if it was not expected. */
function linkMail(to: string, subject: string, lines: string[], link: string, ignore = IGNORE): OutgoingMail {
  return { to, subject, text: [...lines, '', link, '', ignore, ''].join('\n') };
}

/** To a new account a workspace's admin created: verify the address and choose a password. */
export function newAccountMail(input: { to: string; workspace: Workspace; role: MemberRole; link: string; expiresAt: Date }) {
  return linkMail(
    input.to,
    `You were added to ${input.workspace.name} on Outpost`,
    [
      `An admin of the Outpost workspace "${input.workspace.name}" (${input.workspace.slug}) added you as ${input.role}.`,
      '',
      `To confirm this address and choose your password, open this link before ${until(input.expiresAt)}:`,
    ],
    input.link,
  );
}

/** To an existing account another workspace invited: accepting it needs this address proven. */
export function invitationMail(input: { to: string; workspace: Workspace; role: MemberRole; link: string; expiresAt: Date }) {
  return linkMail(
    input.to,
    `You are invited to ${input.workspace.name} on Outpost`,
    [
      `You are invited to join the Outpost workspace "${input.workspace.name}" (${input.workspace.slug}) as ${input.role}.`,
      '',
      `To accept, open this link before ${until(input.expiresAt)}. If your account's address was not`,
      'confirmed before, you will choose a new password there.',
    ],
    input.link,
  );
}

/** To a signed-in person who asked to verify their address. */
export function verificationMail(input: { to: string; link: string; expiresAt: Date }) {
  return linkMail(
    input.to,
    'Confirm your address for Outpost',
    [
      `To confirm this address for your Outpost account, open this link before ${until(input.expiresAt)}.`,
      'If it was not confirmed before, you will choose a new password there.',
    ],
    input.link,
  );
}

/** To an address someone asked a password reset for; the link sets a new password and confirms the address. */
export function passwordResetMail(input: { to: string; link: string; expiresAt: Date }) {
  return linkMail(
    input.to,
    'Reset your Outpost password',
    [
      `Someone asked to reset the password of the Outpost account of this address. To choose a new`,
      `password, open this link before ${until(input.expiresAt)}; it works once. Every session of the account`,
      'ends when the new password is set.',
    ],
    input.link,
    'If you did not ask for this, ignore this message: your password stays as it is unless the link is used.',
  );
}

/**
 * A workspace's name as text inside a message: quoted and escaped, control characters and line
 * breaks gone, at most 100 characters — the one thing a tenant writes that this mail carries.
 */
export function quotedName(name: string): string {
  const flat = name.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  return JSON.stringify(flat.length > 100 ? `${flat.slice(0, 99)}…` : flat);
}

/**
 * To an external address a workspace's email channel names: its one confirmation link. Subject and
 * body are fixed; the workspace's name is the only text of the tenant in it, quoted, so this mail
 * cannot carry a message of the tenant's choosing.
 */
export function recipientConfirmationMail(input: { to: string; workspaceName: string; link: string; expiresAt: Date }) {
  return linkMail(
    input.to,
    'Confirm notifications from Outpost',
    [
      `The Outpost workspace ${quotedName(input.workspaceName)} wants to send notifications to this address.`,
      '',
      `To receive them, open this link before ${until(input.expiresAt)}:`,
    ],
    input.link,
    'If you do not want them, ignore this message: nothing is sent to this address unless the link is used.',
  );
}
