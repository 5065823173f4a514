import * as z from 'zod';
import { Id, Name, PageLimit, page, Tags, Timestamp } from './common.js';

/**
 * Automations: when something happens in the event ledger (or fails to happen in time), do
 * something. A trigger is a CEL expression over `event` (the OutpostEvent), optionally counted
 * (`threshold`), grouped (`groupBy`) and rate-limited (`cooldownSeconds`); compound and sequence
 * triggers combine event triggers within a window; a proactive trigger fires when a window closes
 * without the expected event. Actions run in the transaction that reads the event, so each fires
 * exactly once even across replicas and crashes. Expressions are compiled when saved: a mistake is
 * a 422 naming the field, the line and the column.
 */

/** A CEL expression, checked when the automation is saved. */
export const CelExpression = z.string().min(1).max(2000);

/** The longest window any trigger may keep open: 31 days. */
export const MAX_TRIGGER_WINDOW_SECONDS = 31 * 86_400;
const WindowSeconds = z.number().int().min(1).max(MAX_TRIGGER_WINDOW_SECONDS);

/** Fires on a matching event, or (with `threshold`) when `count` matches for one group happen within the window. */
export const EventTrigger = z.strictObject({
  type: z.literal('event'),
  /** CEL over `event`, e.g. `event.kind == "flow-run.failed" && event.payload.deployment == "etl/nightly"`. */
  match: CelExpression,
  threshold: z.strictObject({ count: z.number().int().min(1).max(10_000), withinSeconds: WindowSeconds }).optional(),
  /** CEL over `event` naming the group counts and cooldowns are kept per, e.g. `event.resource.id`. @default one group */
  groupBy: CelExpression.optional(),
  /** After firing for a group, matching events of that group do not fire again for this long. */
  cooldownSeconds: z.number().int().min(1).max(MAX_TRIGGER_WINDOW_SECONDS).optional(),
});
export type EventTrigger = z.infer<typeof EventTrigger>;

/** Fires when `require` of the triggers (all, any, or a number of them) each matched within the window. */
export const CompoundTrigger = z.strictObject({
  type: z.literal('compound'),
  require: z.union([z.enum(['all', 'any']), z.number().int().min(1).max(20)]),
  triggers: z.array(EventTrigger).min(1).max(20),
  withinSeconds: WindowSeconds,
});
export type CompoundTrigger = z.infer<typeof CompoundTrigger>;

/** Fires when the triggers match in this order, the whole sequence within the window. */
export const SequenceTrigger = z.strictObject({
  type: z.literal('sequence'),
  triggers: z.array(EventTrigger).min(2).max(20),
  withinSeconds: WindowSeconds,
});
export type SequenceTrigger = z.infer<typeof SequenceTrigger>;

export const CronWindow = z.strictObject({
  cron: z
    .string()
    .trim()
    .max(200)
    .regex(/^\S+(\s+\S+){4,5}$/, 'a cron expression has 5 fields (minute hour day month weekday), or 6 with seconds first'),
  /** @default "UTC" */
  timezone: z.string().min(1).max(64).optional(),
});

/**
 * Fires once when a window closes without an event matching `expect`. A window opens at each event
 * matching `after` (one per `groupBy` of that event: "after flow-run.running, expect a terminal
 * event of the same run within an hour") or at each `cron` time ("the nightly run not COMPLETED by
 * 07:00": cron `0 0 * * *`, withinSeconds 25200). With `after`, `expect` also sees the opening event
 * as `opening`.
 */
export const ProactiveTrigger = z
  .strictObject({
    type: z.literal('proactive'),
    expect: CelExpression,
    withinSeconds: WindowSeconds,
    after: CelExpression.optional(),
    cron: CronWindow.optional(),
    /** CEL over `event` (the opening event, and the expected one) that keys windows; with `after` only. */
    groupBy: CelExpression.optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.after === undefined) === (t.cron === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of after or cron', path: [] });
    }
    if (t.groupBy !== undefined && t.after === undefined) {
      ctx.addIssue({ code: 'custom', message: 'groupBy applies to windows opened by an event (after)', path: ['groupBy'] });
    }
  });
export type ProactiveTrigger = z.infer<typeof ProactiveTrigger>;

export const Trigger = z.discriminatedUnion('type', [EventTrigger, CompoundTrigger, SequenceTrigger, ProactiveTrigger]);
export type Trigger = z.infer<typeof Trigger>;
export const TRIGGER_TYPES = ['event', 'compound', 'sequence', 'proactive'] as const;

/**
 * A template: JSON whose strings may hold `{{ expr }}` (CEL over `event`, `events` and
 * `automation`). A string that is exactly one placeholder keeps the value's type.
 */
const Template = z.json();
const DeploymentRef = z
  .string()
  .regex(/^[^/\s]+\/[^/\s]+$/, 'name a deployment as "flow/deployment"')
  .max(300);

export const RunDeploymentAction = z.strictObject({
  type: z.literal('run-deployment'),
  /** "flow/deployment"; absent: the deployment that owns the automation. */
  deployment: DeploymentRef.optional(),
  /** Merged over the deployment's default parameters; strings may be templates. */
  parameters: z.record(z.string().max(200), Template).optional(),
  tags: Tags.optional(),
});
export const CancelRunAction = z.strictObject({
  type: z.literal('cancel-run'),
  /** A template giving the run id; absent: the event's flow-run (its resource or a related one). */
  run: z.string().max(500).optional(),
});
export const PauseRunAction = z.strictObject({ type: z.literal('pause-run'), run: z.string().max(500).optional() });
export const ResumeRunAction = z.strictObject({ type: z.literal('resume-run'), run: z.string().max(500).optional() });
export const PauseDeploymentAction = z.strictObject({
  type: z.literal('pause-deployment'),
  deployment: DeploymentRef.optional(),
});
export const ResumeDeploymentAction = z.strictObject({
  type: z.literal('resume-deployment'),
  deployment: DeploymentRef.optional(),
});
export const PauseScheduleAction = z.strictObject({
  type: z.literal('pause-schedule'),
  deployment: DeploymentRef.optional(),
  schedule: Name,
});
export const ResumeScheduleAction = z.strictObject({
  type: z.literal('resume-schedule'),
  deployment: DeploymentRef.optional(),
  schedule: Name,
});
export const PausePoolAction = z.strictObject({ type: z.literal('pause-pool'), pool: Name });
export const ResumePoolAction = z.strictObject({ type: z.literal('resume-pool'), pool: Name });
export const NotifyAction = z.strictObject({
  type: z.literal('notify'),
  /** A notification channel's name. */
  channel: Name,
  subject: z.string().max(1000).optional(),
  body: z.string().max(20_000).optional(),
});

export const AutomationAction = z.discriminatedUnion('type', [
  RunDeploymentAction,
  CancelRunAction,
  PauseRunAction,
  ResumeRunAction,
  PauseDeploymentAction,
  ResumeDeploymentAction,
  PauseScheduleAction,
  ResumeScheduleAction,
  PausePoolAction,
  ResumePoolAction,
  NotifyAction,
]);
export type AutomationAction = z.infer<typeof AutomationAction>;
export const ACTION_TYPES = [
  'run-deployment',
  'cancel-run',
  'pause-run',
  'resume-run',
  'pause-deployment',
  'resume-deployment',
  'pause-schedule',
  'resume-schedule',
  'pause-pool',
  'resume-pool',
  'notify',
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export const MAX_ACTIONS = 20;

export const Automation = z.strictObject({
  id: Id,
  name: Name,
  description: z.string().nullable(),
  enabled: z.boolean(),
  trigger: Trigger,
  actions: z.array(AutomationAction),
  /** Set for an automation declared in a deployment's `triggers:` (a redeploy replaces these). */
  deploymentId: Id.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastFiredAt: Timestamp.nullable(),
  lastError: z.string().nullable(),
  /**
   * Why the control plane turned the automation off: its expressions kept running past their time or
   * memory budget. Null when it is enabled, or was disabled by a person.
   */
  disabledReason: z.string().nullable(),
});
export type Automation = z.infer<typeof Automation>;

export const AutomationCreateRequest = z.strictObject({
  name: Name,
  description: z.string().max(2000).optional(),
  /** @default true */
  enabled: z.boolean().optional(),
  trigger: Trigger,
  actions: z.array(AutomationAction).min(1).max(MAX_ACTIONS),
});
export type AutomationCreateRequest = z.infer<typeof AutomationCreateRequest>;

/** Replaces the given fields. */
export const AutomationUpdateRequest = z.strictObject({
  name: Name.optional(),
  description: z.string().max(2000).nullable().optional(),
  enabled: z.boolean().optional(),
  trigger: Trigger.optional(),
  actions: z.array(AutomationAction).min(1).max(MAX_ACTIONS).optional(),
});
export type AutomationUpdateRequest = z.infer<typeof AutomationUpdateRequest>;

export const AutomationListQuery = z.strictObject({
  limit: PageLimit,
  cursor: z.string().max(500).optional(),
  /** Only automations owned by this deployment. */
  deploymentId: Id.optional(),
});
export const AutomationListResponse = page(Automation);
export type AutomationListResponse = z.infer<typeof AutomationListResponse>;

/** SKIPPED: the action did not run (the automation's firing rate, or its chain of automations, is at its limit); `error` says which. */
export const FiringActionStatus = z.enum(['SUCCEEDED', 'FAILED', 'SKIPPED']);
export const FiringAction = z.strictObject({
  index: z.number().int(),
  type: z.enum(ACTION_TYPES),
  status: FiringActionStatus,
  error: z.string().nullable(),
  /** What the action created or changed: a run id, a deployment id, a delivery key. */
  resultIds: z.array(z.string()),
});
export type FiringAction = z.infer<typeof FiringAction>;

export const Firing = z.strictObject({
  id: Id,
  automationId: Id,
  /** Unique per automation: `event:<eventId>`, `window:<group>:<opened>`, … */
  key: z.string(),
  firedAt: Timestamp,
  eventIds: z.array(Id),
  actions: z.array(FiringAction),
});
export type Firing = z.infer<typeof Firing>;

export const FiringListQuery = z.strictObject({ limit: PageLimit, cursor: z.string().max(500).optional() });

/**
 * An event the automations loop did not evaluate: for one automation, whose expressions ran past
 * their budget on it, or for all of the workspace's (`automationId` null), when rounds that read it
 * kept failing. It is never evaluated again.
 */
export const QuarantinedEvent = z.strictObject({
  id: Id,
  eventId: Id,
  eventKind: z.string(),
  automationId: Id.nullable(),
  reason: z.string(),
  createdAt: Timestamp,
});
export type QuarantinedEvent = z.infer<typeof QuarantinedEvent>;
export const QuarantineListQuery = z.strictObject({ limit: PageLimit, cursor: z.string().max(500).optional() });
export const QuarantineListResponse = page(QuarantinedEvent);
export type QuarantineListResponse = z.infer<typeof QuarantineListResponse>;
export const FiringListResponse = page(Firing);
export type FiringListResponse = z.infer<typeof FiringListResponse>;

/**
 * A trigger declared with a deployment (`triggers:` in outpost.config.ts): an automation owned by
 * the deployment with one run-deployment action of it. `name` identifies it across redeploys.
 */
export const TriggerInput = z.strictObject({
  /** Unique per deployment. @default "trigger-<n>" by position */
  name: Name.optional(),
  trigger: Trigger,
  /** The run's parameters (a template), merged over the deployment's defaults. */
  parameters: z.record(z.string().max(200), Template).optional(),
  /** @default true */
  enabled: z.boolean().optional(),
});
export type TriggerInput = z.infer<typeof TriggerInput>;
export const MAX_TRIGGERS_PER_DEPLOYMENT = 50;
export const TriggerInputs = z.array(TriggerInput).max(MAX_TRIGGERS_PER_DEPLOYMENT);
