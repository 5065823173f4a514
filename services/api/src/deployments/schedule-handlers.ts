import { ApiError, notFound } from '../errors.js';
import type { BodyOf, Handlers } from '../http/route-types.js';
import { editSchedule, getSchedule, listSchedules, setDeploymentPaused } from '../runs/db/schedules.js';
import { assertParameters } from '../runs/parameter-schema.js';
import { editedDefinition } from '../scheduling/schedule-edit.js';
import { type NormalizedSchedule, normalizeSchedules } from '../scheduling/schedule-input.js';
import { getDeployment } from './db/deployments.js';

export const scheduleHandlers = {
  schedulesList: async ({ params, principal, deps }) => {
    const record = await getDeployment(deps.sql, principal.workspaceId, params.id);
    if (!record) throw notFound('deployment');
    return { items: await listSchedules(deps.sql, principal.workspaceId, params.id) };
  },

  schedulesUpdate: async ({ params, body, principal, deps }) => {
    const workspaceId = principal.workspaceId;
    const record = await getDeployment(deps.sql, workspaceId, params.id);
    if (!record) throw notFound('deployment');
    const { deployment } = record;
    const schedule = await deps.sql.begin((tx) =>
      editSchedule(tx, { workspaceId, deploymentId: deployment.id, slug: params.slug }, (current, definition) => {
        const edited = editedDefinition(definition, body, 'body', new Date());
        if (!edited.definition) {
          throw new ApiError('validation_failed', 'the schedule cannot be changed that way', { errors: edited.errors });
        }
        const parameters = body.parameters ?? current.parameters;
        if (body.parameters !== undefined && deployment.parameterSchema) {
          assertParameters(deployment.parameterSchema, { ...deployment.parameters, ...parameters }, 'body.parameters');
        }
        return { definition: edited.definition, active: body.active ?? current.active, parameters };
      }),
    );
    if (!schedule) throw notFound(`schedule "${params.slug}" of deployment ${deployment.flowName}/${deployment.name}`);
    // Read after commit, so the answer shows the mark as the scheduler will see it.
    return (await getSchedule(deps.sql, workspaceId, params.id, params.slug)) ?? schedule;
  },

  deploymentsPause: async ({ params, principal, deps }) => {
    const found = await deps.sql.begin((tx) => setDeploymentPaused(tx, principal.workspaceId, params.id, true));
    const record = found ? await getDeployment(deps.sql, principal.workspaceId, params.id) : null;
    if (!record) throw notFound('deployment');
    return record.deployment;
  },

  deploymentsResume: async ({ params, principal, deps }) => {
    const found = await deps.sql.begin((tx) => setDeploymentPaused(tx, principal.workspaceId, params.id, false));
    const record = found ? await getDeployment(deps.sql, principal.workspaceId, params.id) : null;
    if (!record) throw notFound('deployment');
    return record.deployment;
  },
} satisfies Pick<Handlers, 'schedulesList' | 'schedulesUpdate' | 'deploymentsPause' | 'deploymentsResume'>;

/**
 * Checks the schedules of a deployment upsert before anything is written: definitions (cron syntax,
 * zone, slugs) and each schedule's parameters merged over the deployment's defaults against its
 * parameter schema. Null when the request leaves the schedules as they are.
 */
export function prepareSchedules(body: BodyOf<'deploymentsUpsert'>): NormalizedSchedule[] | null {
  if (body.schedules === undefined) return null;
  const { schedules, errors } = normalizeSchedules(body.schedules, 'body.schedules', new Date());
  if (errors.length > 0) throw new ApiError('validation_failed', 'the request body is invalid', { errors });
  if (body.parameterSchema) {
    // Without errors, schedules[i] is the request's schedules[i].
    for (const [i, s] of schedules.entries()) {
      assertParameters(body.parameterSchema, { ...body.parameters, ...s.parameters }, `body.schedules.${i}.parameters`);
    }
  }
  return schedules;
}
