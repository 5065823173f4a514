import {
  ALERT_RULE_PREFIX,
  type NotificationChannel,
  type NotificationChannelWithSecret,
  type OutpostEvent,
} from '@outpost/sdk/contracts';
import * as z from 'zod';
import { assertAutomation } from '../automations/compile.js';
import { type AutomationRow, insertAutomation, toAutomation } from '../automations/db/automations.js';
import { CelChecks } from '../cel/problems.js';
import type { AppDeps } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { getWorkspace } from '../identity/db/workspaces.js';
import { assertMailHeadroom } from '../mail/mail-quota.js';
import { recipientConfirmationMail } from '../mail/messages.js';
import { alertRuleAutomation } from '../notifications/alert-rules.js';
import {
  type ChannelChanges,
  type ChannelRow,
  deleteChannel,
  getChannel,
  getDelivery,
  insertChannel,
  listChannels,
  listDeliveries,
  requeueDelivery,
  sealChannelSecret,
  toChannel,
  toDelivery,
  updateChannel,
} from '../notifications/db/notifications.js';
import { deliveryFor } from '../notifications/delivery-errors.js';
import { enqueueNotification } from '../notifications/enqueue.js';
import { notificationAllowance } from '../notifications/outbound.js';
import {
  type ConfirmationToSend,
  confirmRecipient,
  normaliseRecipients,
  pendingRecipients,
  requestConfirmations,
} from '../notifications/recipients.js';
import { newSigningSecret } from '../notifications/signature.js';
import { TEMPLATE_VARIABLES } from '../notifications/templates.js';
import { refusalAtSave } from '../outbound/address.js';

const invalid = (path: string, message: string) =>
  new ApiError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] });

/** Templates are compiled when saved: a mistake is an answer naming the field and position, not a broken notification later. */
function checkTemplates(body: { subjectTemplate?: string | null | undefined; bodyTemplate?: string | null | undefined }): void {
  const checks = new CelChecks();
  for (const field of ['subjectTemplate', 'bodyTemplate'] as const) {
    const template = body[field];
    if (typeof template === 'string') checks.template(`body.${field}`, template, TEMPLATE_VARIABLES);
  }
  checks.throwIfAny();
}

/** The URL check of a save: refused addresses (outbound/address.ts) are refused here already, and again at each send. */
async function checkUrl(deps: AppDeps, path: string, url: string | undefined): Promise<void> {
  if (url === undefined) return;
  const refused = await refusalAtSave(new URL(url), notificationAllowance(deps.notifications.allowPrivateNetworks));
  if (refused) throw invalid(path, `${refused}; notifications may not be sent there`);
}

const seal = (deps: AppDeps, channelId: string, secret: string): string => sealChannelSecret(deps.secretBox, channelId, secret);

/** The channel as answered, with its recipients that have not confirmed yet. */
async function answer(deps: Pick<AppDeps, 'sql'>, row: ChannelRow): Promise<NotificationChannel> {
  const pending = row.kind === 'email' ? await pendingRecipients(deps.sql, row.workspace_id, row.recipients) : [];
  return toChannel(row, pending);
}

const withSecret = async (
  deps: Pick<AppDeps, 'sql'>,
  row: ChannelRow,
  signingSecret: string | null,
): Promise<NotificationChannelWithSecret> => ({ ...(await answer(deps, row)), signingSecret });

/**
 * Mails each new pending recipient its confirmation link, after the save committed (a link of a
 * rolled-back save would confirm nothing). A mail that fails leaves the address pending; a later
 * save mails a new link once this one expires.
 */
async function mailConfirmations(deps: AppDeps, workspaceId: string, links: ConfirmationToSend[]): Promise<void> {
  if (links.length === 0 || !deps.mailer) return;
  const workspace = await getWorkspace(deps.sql, workspaceId);
  for (const link of links) {
    await deps.mailer.send(
      recipientConfirmationMail({
        to: link.to,
        workspaceName: workspace?.name ?? 'an Outpost workspace',
        link: `${deps.publicUrl}/#/confirm-recipient?token=${link.token}`,
        expiresAt: link.expiresAt,
      }),
      { workspaceId, purpose: 'recipient confirmation' },
    );
  }
}

async function channelOrThrow(deps: AppDeps, workspaceId: string, name: string): Promise<ChannelRow> {
  const row = await getChannel(deps.sql, workspaceId, name);
  if (!row) throw notFound(`notification channel "${name}"`);
  return row;
}

const DeliveryCursor = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

export const notificationHandlers = {
  notificationChannelsCreate: async ({ body, principal, deps }) => {
    checkTemplates(body);
    const id = crypto.randomUUID();
    let url: string | null = null;
    let recipients: string[] = [];
    let sealed: string | null = null;
    let signingSecret: string | null = null;
    if (body.kind === 'webhook') {
      await checkUrl(deps, 'body.url', body.url);
      url = body.url;
      signingSecret = body.secret ?? newSigningSecret();
      sealed = seal(deps, id, signingSecret);
    } else if (body.kind === 'slack') {
      await checkUrl(deps, 'body.secretUrl', body.secretUrl);
      sealed = seal(deps, id, body.secretUrl);
    } else {
      if (!deps.mailer) throw invalid('body.kind', 'the server has no OUTPOST_SMTP_URL to send email with');
      recipients = normaliseRecipients(body.recipients);
    }
    const saved = await deps.sql.begin(async (tx) => {
      const row = await insertChannel(tx, {
        id,
        workspaceId: principal.workspaceId,
        name: body.name,
        kind: body.kind,
        url,
        recipients,
        secretEncrypted: sealed,
        subjectTemplate: body.subjectTemplate ?? null,
        bodyTemplate: body.bodyTemplate ?? null,
        enabled: body.enabled ?? true,
      });
      if (!row) throw new ApiError('conflict', `a notification channel named "${body.name}" already exists`);
      const links = await requestConfirmations(
        tx,
        principal.workspaceId,
        await pendingRecipients(tx, principal.workspaceId, recipients),
      );
      return { row, links };
    });
    await mailConfirmations(deps, principal.workspaceId, saved.links);
    return withSecret(deps, saved.row, signingSecret);
  },

  notificationChannelsList: async ({ principal, deps }) => {
    const rows = await listChannels(deps.sql, principal.workspaceId);
    const pending = await pendingRecipients(deps.sql, principal.workspaceId, [
      ...new Set(rows.filter((r) => r.kind === 'email').flatMap((r) => r.recipients)),
    ]);
    return { items: rows.map((row) => toChannel(row, pending)) };
  },

  notificationChannelsGet: async ({ params, principal, deps }) =>
    answer(deps, await channelOrThrow(deps, principal.workspaceId, params.name)),

  notificationChannelsUpdate: async ({ params, body, principal, deps }) => {
    checkTemplates(body);
    // Resolving a name takes a moment: done before the channel's row is locked.
    await checkUrl(deps, 'body.url', body.url);
    await checkUrl(deps, 'body.secretUrl', body.secretUrl);
    const saved = await deps.sql.begin(async (tx) => {
      const row = await getChannel(tx, principal.workspaceId, params.name, true);
      if (!row) throw notFound(`notification channel "${params.name}"`);
      const changes: ChannelChanges = {};
      let signingSecret: string | null = null;
      const kindOnly = (field: string, kind: string) => {
        throw invalid(`body.${field}`, `only a ${kind} channel has it; "${row.name}" is a ${row.kind} channel`);
      };
      if (body.url !== undefined) {
        if (row.kind !== 'webhook') kindOnly('url', 'webhook');
        changes.url = body.url;
      }
      if (body.rotateSecret) {
        if (row.kind !== 'webhook') kindOnly('rotateSecret', 'webhook');
        signingSecret = newSigningSecret();
        changes.secretEncrypted = seal(deps, row.id, signingSecret);
      }
      if (body.secretUrl !== undefined) {
        if (row.kind !== 'slack') kindOnly('secretUrl', 'slack');
        changes.secretEncrypted = seal(deps, row.id, body.secretUrl);
      }
      if (body.recipients !== undefined) {
        if (row.kind !== 'email') kindOnly('recipients', 'email');
        changes.recipients = normaliseRecipients(body.recipients);
      }
      if (body.subjectTemplate !== undefined) changes.subjectTemplate = body.subjectTemplate;
      if (body.bodyTemplate !== undefined) changes.bodyTemplate = body.bodyTemplate;
      if (body.enabled !== undefined) changes.enabled = body.enabled;
      const links = changes.recipients
        ? await requestConfirmations(
            tx,
            principal.workspaceId,
            await pendingRecipients(tx, principal.workspaceId, changes.recipients),
          )
        : [];
      return { row: await updateChannel(tx, row.id, changes), signingSecret, links };
    });
    await mailConfirmations(deps, principal.workspaceId, saved.links);
    return withSecret(deps, saved.row, saved.signingSecret);
  },

  notificationChannelsDelete: async ({ params, principal, deps }) => {
    const deleted = await deps.sql.begin((tx) => deleteChannel(tx, principal.workspaceId, params.name));
    if (!deleted) throw notFound(`notification channel "${params.name}"`);
    return null;
  },

  notificationChannelsTest: async ({ params, principal, deps }) => {
    const channel = await channelOrThrow(deps, principal.workspaceId, params.name);
    if (channel.kind === 'email') {
      // A test is mail the caller asks for now: at the quota it is refused here, not dead in the outbox later.
      await assertMailHeadroom(deps.sql, principal.workspaceId, Math.max(1, channel.recipients.length), 'a test of this channel');
    }
    const now = new Date().toISOString();
    // A test is not something that happened in the workspace: its event is made up, and not stored.
    const event: OutpostEvent = {
      id: crypto.randomUUID(),
      seq: '0',
      occurredAt: now,
      receivedAt: now,
      kind: 'notification.test',
      resource: { kind: 'notification-channel', id: channel.id, name: channel.name },
      related: [],
      payload: { message: 'a test notification from Outpost' },
      source: 'api',
    };
    const id = await deps.sql.begin((tx) =>
      enqueueNotification(tx, {
        workspaceId: principal.workspaceId,
        channel: channel.name,
        automationId: null,
        firingId: null,
        idempotencyKey: `test:${event.id}`,
        subject: `[Outpost] test notification through "${channel.name}"`,
        body: `This is a test notification sent at ${now}. If you read it, the channel works.`,
        event,
      }),
    );
    const row = await getDelivery(deps.sql, principal.workspaceId, id);
    if (!row) throw new Error('the test delivery vanished');
    return deliveryFor(principal, toDelivery(row));
  },

  notificationDeliveriesList: async ({ query, principal, deps }) => {
    const before = decodeCursor(query.cursor, DeliveryCursor);
    const { rows, nextCursor } = await listDeliveries(deps.sql, {
      workspaceId: principal.workspaceId,
      status: query.status,
      channel: query.channel,
      limit: query.limit,
      before,
    });
    return { items: rows.map((row) => deliveryFor(principal, toDelivery(row))), nextCursor };
  },

  notificationDeliveriesGet: async ({ params, principal, deps }) => {
    const row = await getDelivery(deps.sql, principal.workspaceId, params.id);
    if (!row) throw notFound('notification delivery');
    return deliveryFor(principal, toDelivery(row));
  },

  notificationDeliveriesRetry: async ({ params, principal, deps }) => {
    const row = await requeueDelivery(deps.sql, principal.workspaceId, params.id);
    if (row) return deliveryFor(principal, toDelivery(row));
    if (await getDelivery(deps.sql, principal.workspaceId, params.id)) {
      throw new ApiError('conflict', 'the delivery was already sent; there is nothing to retry');
    }
    throw notFound('notification delivery');
  },

  mailRecipientsConfirm: async ({ body, deps }) => confirmRecipient(deps.sql, body.token),
} satisfies Pick<
  Handlers,
  | 'mailRecipientsConfirm'
  | 'notificationChannelsCreate'
  | 'notificationChannelsList'
  | 'notificationChannelsGet'
  | 'notificationChannelsUpdate'
  | 'notificationChannelsDelete'
  | 'notificationChannelsTest'
  | 'notificationDeliveriesList'
  | 'notificationDeliveriesGet'
  | 'notificationDeliveriesRetry'
>;

export const alertRuleHandlers = {
  alertRulesCreate: async ({ body, principal, deps }) => {
    if (!(await getChannel(deps.sql, principal.workspaceId, body.channel))) {
      throw invalid('body.channel', `the workspace has no notification channel "${body.channel}"`);
    }
    const automation = alertRuleAutomation(body);
    assertAutomation(automation);
    const row = await insertAutomation(deps.sql, {
      workspaceId: principal.workspaceId,
      deploymentId: null,
      name: automation.name,
      description: automation.description,
      enabled: true,
      trigger: automation.trigger,
      actions: automation.actions,
    });
    if (!row) throw new ApiError('conflict', `this alert rule already exists (automation "${automation.name}")`);
    return toAutomation(row);
  },

  alertRulesList: async ({ principal, deps }) => {
    const rows = await deps.sql<AutomationRow[]>`
      SELECT * FROM automations
      WHERE workspace_id = ${principal.workspaceId} AND deployment_id IS NULL AND starts_with(name, ${ALERT_RULE_PREFIX})
      ORDER BY name`;
    return { items: rows.map(toAutomation) };
  },
} satisfies Pick<Handlers, 'alertRulesCreate' | 'alertRulesList'>;
