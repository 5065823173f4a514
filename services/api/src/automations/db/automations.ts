import type { Automation, AutomationAction, Firing, FiringAction, QuarantinedEvent, Trigger } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { automationFirings, automationQuarantine, automations, Row } from '../../db/schema.js';
import { iso } from '../../db/values.js';

export type AutomationRow = Row<typeof automations>;
type FiringRow = Row<typeof automationFirings>;

export function toAutomation(row: AutomationRow): Automation {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    enabled: row.enabled,
    trigger: row.trigger,
    actions: row.actions,
    deploymentId: row.deployment_id,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    lastFiredAt: row.last_fired_at ? iso(row.last_fired_at) : null,
    lastError: row.last_error,
    disabledReason: row.disabled_reason,
  };
}

export function toFiring(row: FiringRow): Firing {
  return {
    id: row.id,
    automationId: row.automation_id,
    key: row.key,
    firedAt: iso(row.fired_at),
    eventIds: row.event_ids,
    actions: row.actions,
  };
}

export interface NewAutomation {
  workspaceId: string;
  deploymentId: string | null;
  name: string;
  description: string | null;
  enabled: boolean;
  trigger: Trigger;
  actions: AutomationAction[];
}

/** Null when the name is taken (in the workspace, or in the deployment for a deployment's automation). */
export async function insertAutomation(db: Db, a: NewAutomation): Promise<AutomationRow | null> {
  const [row] = await db<AutomationRow[]>`
    INSERT INTO automations (workspace_id, deployment_id, name, description, enabled, trigger, actions)
    VALUES (${a.workspaceId}, ${a.deploymentId}, ${a.name}, ${a.description}, ${a.enabled},
            ${db.json(a.trigger as never)}, ${db.json(a.actions as never)})
    ON CONFLICT DO NOTHING
    RETURNING *`;
  return row ?? null;
}

export async function getAutomation(db: Db, workspaceId: string, id: string): Promise<AutomationRow | null> {
  const [row] = await db<AutomationRow[]>`SELECT * FROM automations WHERE workspace_id = ${workspaceId} AND id = ${id}`;
  return row ?? null;
}

/** By (name, id) after the cursor's pair. */
export async function listAutomations(
  db: Db,
  workspaceId: string,
  filter: { deploymentId?: string | undefined; after?: { name: string; id: string } | undefined },
  limit: number,
): Promise<AutomationRow[]> {
  return db<AutomationRow[]>`
    SELECT * FROM automations
    WHERE workspace_id = ${workspaceId}
      ${filter.deploymentId ? db`AND deployment_id = ${filter.deploymentId}` : db``}
      ${filter.after ? db`AND (name, id) > (${filter.after.name}, ${filter.after.id}::uuid)` : db``}
    ORDER BY name, id
    LIMIT ${limit}`;
}

export interface AutomationChanges {
  name?: string | undefined;
  description?: string | null | undefined;
  enabled?: boolean | undefined;
  trigger?: Trigger | undefined;
  actions?: AutomationAction[] | undefined;
}

/** Applies the given fields; null when there is no such automation, 'taken' when the new name is. */
export async function updateAutomation(
  db: Db,
  workspaceId: string,
  id: string,
  c: AutomationChanges,
): Promise<AutomationRow | null> {
  const [row] = await db<AutomationRow[]>`
    UPDATE automations SET
      name = ${c.name === undefined ? db`name` : db`${c.name}`},
      description = ${c.description === undefined ? db`description` : db`${c.description}`},
      enabled = ${c.enabled === undefined ? db`enabled` : db`${c.enabled}`},
      trigger = ${c.trigger === undefined ? db`trigger` : db`${db.json(c.trigger as never)}`},
      actions = ${c.actions === undefined ? db`actions` : db`${db.json(c.actions as never)}`},
      -- Enabled again by a person: the control plane's reason for turning it off no longer stands.
      disabled_reason = ${c.enabled === undefined ? db`disabled_reason` : db`NULL`},
      -- New expressions start with a clean budget record; the same ones keep theirs, so one more overrun turns them off again.
      budget_failures = ${c.trigger === undefined && c.actions === undefined ? db`budget_failures` : db`0`},
      -- A changed trigger starts from nothing: counts and windows of the old one mean nothing to it.
      updated_at = now()
    WHERE workspace_id = ${workspaceId} AND id = ${id}
    RETURNING *`;
  if (row && c.trigger !== undefined) {
    await db`DELETE FROM automation_state WHERE automation_id = ${id}`;
    await db`DELETE FROM automation_windows WHERE automation_id = ${id} AND status = 'OPEN'`;
  }
  return row ?? null;
}

export async function deleteAutomation(db: Db, workspaceId: string, id: string): Promise<AutomationRow | null> {
  const [row] = await db<AutomationRow[]>`DELETE FROM automations WHERE workspace_id = ${workspaceId} AND id = ${id} RETURNING *`;
  return row ?? null;
}

/** Newest first, by (fired_at, id) before the cursor's pair. */
export async function listFirings(
  db: Db,
  automationId: string,
  before: { firedAt: string; id: string } | null,
  limit: number,
): Promise<Firing[]> {
  const rows = await db<FiringRow[]>`
    SELECT * FROM automation_firings
    WHERE automation_id = ${automationId}
      ${before ? db`AND (fired_at, id) < (${before.firedAt}::timestamptz, ${before.id}::uuid)` : db``}
    ORDER BY fired_at DESC, id DESC
    LIMIT ${limit}`;
  return rows.map(toFiring);
}

/** Records a firing; null when one with this key exists (the firing happened already). */
export async function insertFiring(
  db: Db,
  f: { workspaceId: string; automationId: string; key: string; eventIds: string[] },
): Promise<string | null> {
  const [row] = await db<{ id: string }[]>`
    INSERT INTO automation_firings (workspace_id, automation_id, key, event_ids)
    VALUES (${f.workspaceId}, ${f.automationId}, ${f.key}, ${db.array(f.eventIds)}::uuid[])
    ON CONFLICT (automation_id, key) DO NOTHING
    RETURNING id`;
  return row?.id ?? null;
}

export async function finishFiring(
  db: Db,
  f: { firingId: string; automationId: string; actions: FiringAction[]; lastError: string | null },
): Promise<void> {
  await db`UPDATE automation_firings SET actions = ${db.json(f.actions as never)} WHERE id = ${f.firingId}`;
  await db`UPDATE automations SET last_fired_at = now(), last_error = ${f.lastError} WHERE id = ${f.automationId}`;
}

type QuarantineRow = Row<typeof automationQuarantine>;

/** The workspace's quarantined events, newest first (keyset pages). */
export async function listQuarantine(
  db: Db,
  workspaceId: string,
  before: { createdAt: string; id: string } | null,
  limit: number,
): Promise<QuarantinedEvent[]> {
  const rows = await db<QuarantineRow[]>`
    SELECT * FROM automation_quarantine
    WHERE workspace_id = ${workspaceId}
      ${before ? db`AND (created_at, id) < (${before.createdAt}::timestamptz, ${before.id}::uuid)` : db``}
    ORDER BY created_at DESC, id DESC
    LIMIT ${limit}`;
  return rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    eventKind: row.event_kind,
    automationId: row.automation_id,
    reason: row.reason,
    createdAt: iso(row.created_at),
  }));
}

/** Records that `automationId` (null: every automation of the workspace) will not evaluate the event. */
export async function quarantineEvent(
  db: Db,
  q: { workspaceId: string; eventId: string; eventKind: string; automationId: string | null; reason: string },
): Promise<void> {
  await db`
    INSERT INTO automation_quarantine (workspace_id, event_id, event_kind, automation_id, reason)
    VALUES (${q.workspaceId}, ${q.eventId}, ${q.eventKind}, ${q.automationId}, ${q.reason})`;
}
