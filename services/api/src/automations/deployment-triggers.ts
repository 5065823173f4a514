import type { AutomationAction, FieldError, TriggerInput } from '@outpost/sdk/contracts';
import { celValidationError } from '../cel/problems.js';
import type { TxSql } from '../db/client.js';
import { assertAddedWithinQuota, countOf, lockCount } from '../quotas/object-counts.js';
import { automationProblems } from './compile.js';

/** A trigger's name in its deployment: its own, or `trigger-<n>` by position. */
export function triggerName(input: TriggerInput, index: number): string {
  return input.name ?? `trigger-${index + 1}`;
}

function actionsOf(input: TriggerInput): AutomationAction[] {
  return [{ type: 'run-deployment', ...(input.parameters ? { parameters: input.parameters } : {}) }];
}

/**
 * Checks a deploy's `triggers:` before anything is written: unique names, and every expression
 * and template compiled (a 422 with `body.triggers.<i>.trigger.match` and the position).
 */
export function assertDeploymentTriggers(triggers: readonly TriggerInput[], path = 'body.triggers'): void {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  triggers.forEach((input, i) => {
    const name = triggerName(input, i);
    if (seen.has(name)) errors.push({ path: `${path}.${i}.name`, message: `"${name}" is given twice` });
    seen.add(name);
    errors.push(
      ...automationProblems(
        { trigger: input.trigger, actions: actionsOf(input) },
        { trigger: `${path}.${i}.trigger`, actions: `${path}.${i}` },
      ).map(
        // The action's parameters are the trigger's own `parameters` field.
        (e) => ({ ...e, path: e.path.replace(`${path}.${i}.0.parameters`, `${path}.${i}.parameters`) }),
      ),
    );
  });
  if (errors.length > 0) throw celValidationError(errors);
}

/**
 * The automations a deploy declares, in its transaction: each named trigger is inserted or
 * updated in place (its firings stay; a changed trigger starts its counts and windows over), and
 * the deployment's automations whose names were not sent are removed.
 */
export async function applyDeploymentTriggers(
  tx: TxSql,
  input: { workspaceId: string; deploymentId: string; triggers: readonly TriggerInput[] },
): Promise<void> {
  const names = input.triggers.map(triggerName);
  // The deployment's triggers are automations, counted against the workspace's `automations` quota.
  await lockCount(tx, input.workspaceId, 'automations');
  const before = await countOf(tx, input.workspaceId, 'automations');
  await tx`
    DELETE FROM automations
    WHERE deployment_id = ${input.deploymentId} AND NOT (name = ANY(${tx.array(names)}::text[]))`;
  for (const [i, t] of input.triggers.entries()) {
    const [row] = await tx<{ id: string; changed: boolean }[]>`
      INSERT INTO automations (workspace_id, deployment_id, name, enabled, trigger, actions)
      VALUES (${input.workspaceId}, ${input.deploymentId}, ${names[i] as string}, ${t.enabled ?? true},
              ${tx.json(t.trigger as never)}, ${tx.json(actionsOf(t) as never)})
      ON CONFLICT (deployment_id, name) WHERE deployment_id IS NOT NULL DO UPDATE SET
        enabled = excluded.enabled, trigger = excluded.trigger, actions = excluded.actions,
        updated_at = CASE WHEN automations.trigger IS DISTINCT FROM excluded.trigger
                            OR automations.actions IS DISTINCT FROM excluded.actions
                            OR automations.enabled IS DISTINCT FROM excluded.enabled
                          THEN now() ELSE automations.updated_at END
      RETURNING id, (xmax <> 0 AND updated_at = now()) AS changed`;
    if (row?.changed) {
      await tx`DELETE FROM automation_state WHERE automation_id = ${row.id}`;
      await tx`DELETE FROM automation_windows WHERE automation_id = ${row.id} AND status = 'OPEN'`;
    }
  }
  await assertAddedWithinQuota(tx, input.workspaceId, 'automations', before);
}
