import type { AutomationAction, EventTrigger, FieldError, Trigger } from '@outpost/sdk/contracts';
import { CelChecks, celValidationError } from '../cel/problems.js';
import { currentAuditKinds } from '../events/db/event-list.js';
import { canonicalTimezone } from '../scheduling/schedule-input.js';
import { cronJob, type Timeline, timelineOf } from '../scheduling/timeline.js';

/** What a trigger's expressions see. */
export const MATCH_VARIABLES = ['event'] as const;
/** What a proactive `expect` sees: the event, and the event that opened the window (null for cron windows). */
export const EXPECT_VARIABLES = ['event', 'opening'] as const;
/** What an action's templates see. */
export const TEMPLATE_VARIABLES = ['event', 'events', 'automation'] as const;

function checkEventTrigger(checks: CelChecks, t: EventTrigger, path: string, nested: boolean): void {
  checks.expression(`${path}.match`, t.match, MATCH_VARIABLES);
  if (t.groupBy !== undefined) checks.expression(`${path}.groupBy`, t.groupBy, MATCH_VARIABLES);
  if (nested) {
    for (const field of ['threshold', 'groupBy', 'cooldownSeconds'] as const) {
      if (t[field] !== undefined) {
        checks.errors.push({ path: `${path}.${field}`, message: 'applies to a top-level event trigger only' });
      }
    }
  }
}

function checkCron(errors: FieldError[], cron: string, timezone: string | undefined, path: string): void {
  if (timezone !== undefined && canonicalTimezone(timezone) === null) {
    errors.push({ path: `${path}.timezone`, message: `"${timezone}" is not an IANA time zone` });
    return;
  }
  try {
    cronJob(cron, timezone ?? 'UTC');
  } catch (error) {
    errors.push({ path: `${path}.cron`, message: `not a cron expression: ${(error as Error).message}` });
  }
}

/** Every CEL expression, template and cron of an automation, checked; the field errors are under `path`. */
export function automationProblems(
  input: { trigger?: Trigger | undefined; actions?: readonly AutomationAction[] | undefined },
  path: { trigger: string; actions: string },
): FieldError[] {
  const checks = new CelChecks();
  const t = input.trigger;
  if (t) {
    const at = path.trigger;
    switch (t.type) {
      case 'event':
        checkEventTrigger(checks, t, at, false);
        break;
      case 'compound':
        if (typeof t.require === 'number' && t.require > t.triggers.length) {
          checks.errors.push({ path: `${at}.require`, message: `more than the ${t.triggers.length} triggers given` });
        }
        for (const [i, sub] of t.triggers.entries()) checkEventTrigger(checks, sub, `${at}.triggers.${i}`, true);
        break;
      case 'sequence':
        for (const [i, sub] of t.triggers.entries()) checkEventTrigger(checks, sub, `${at}.triggers.${i}`, true);
        break;
      case 'proactive':
        checks.expression(`${at}.expect`, t.expect, EXPECT_VARIABLES);
        if (t.after !== undefined) checks.expression(`${at}.after`, t.after, MATCH_VARIABLES);
        if (t.groupBy !== undefined) checks.expression(`${at}.groupBy`, t.groupBy, MATCH_VARIABLES);
        if (t.cron) checkCron(checks.errors, t.cron.cron, t.cron.timezone, `${at}.cron`);
        break;
    }
  }
  (input.actions ?? []).forEach((action, i) => {
    const at = `${path.actions}.${i}`;
    switch (action.type) {
      case 'run-deployment':
        if (action.parameters) checks.template(`${at}.parameters`, action.parameters, TEMPLATE_VARIABLES);
        break;
      case 'cancel-run':
      case 'pause-run':
      case 'resume-run':
        if (action.run !== undefined) checks.template(`${at}.run`, action.run, TEMPLATE_VARIABLES);
        break;
      case 'notify':
        if (action.subject !== undefined) checks.template(`${at}.subject`, action.subject, TEMPLATE_VARIABLES);
        if (action.body !== undefined) checks.template(`${at}.body`, action.body, TEMPLATE_VARIABLES);
        break;
      default:
        break;
    }
  });
  return checks.errors;
}

/** Throws the 422 of `automationProblems` when there are any. */
export function assertAutomation(
  input: { trigger?: Trigger | undefined; actions?: readonly AutomationAction[] | undefined },
  path: { trigger: string; actions: string } = { trigger: 'body.trigger', actions: 'body.actions' },
): void {
  const errors = automationProblems(input, path);
  if (errors.length > 0) throw celValidationError(errors);
}

// ---- an automation prepared for the loop, cached per automation id and version ----

/*
 * The loop never evaluates CEL itself: expressions and templates run in the CEL sandbox
 * (cel/sandbox.ts). What is prepared here is which expression each part of a trigger reads, under
 * a key the round's verdicts use (`match`, `groupBy`, `after`, `triggers.0.match` …), and the cron
 * timeline of a cron window.
 */

export interface CompiledEventTrigger {
  source: EventTrigger;
  /** The key of its match expression. */
  match: string;
  /** The key of its groupBy expression, if any. */
  groupBy: string | null;
}

export type CompiledTrigger =
  | { type: 'event'; trigger: CompiledEventTrigger }
  | { type: 'compound'; require: number; triggers: CompiledEventTrigger[]; withinSeconds: number }
  | { type: 'sequence'; triggers: CompiledEventTrigger[]; withinSeconds: number }
  | {
      type: 'proactive';
      /** The expect expression's source: it reads the window's opening event too, so it is evaluated per window. */
      expect: string;
      after: string | null;
      groupBy: string | null;
      cron: Timeline | null;
      withinSeconds: number;
    };

export interface CompiledAction {
  /** Its position in the automation's actions. */
  index: number;
  action: AutomationAction;
  /** The action's templates by field (`parameters`, `run`, `subject`, `body`), as written. */
  templates: Record<string, unknown>;
}

export interface CompiledAutomation {
  trigger: CompiledTrigger;
  /** Every expression that reads only the event, by key. */
  expressions: Record<string, string>;
  actions: CompiledAction[];
}

function prepareEventTrigger(t: EventTrigger, prefix: string, expressions: Record<string, string>): CompiledEventTrigger {
  const match = `${prefix}match`;
  expressions[match] = currentAuditKinds(t.match);
  let groupBy: string | null = null;
  if (t.groupBy) {
    groupBy = `${prefix}groupBy`;
    expressions[groupBy] = currentAuditKinds(t.groupBy);
  }
  return { source: t, match, groupBy };
}

export function compileAutomation(trigger: Trigger, actions: readonly AutomationAction[]): CompiledAutomation {
  const expressions: Record<string, string> = {};
  let compiled: CompiledTrigger;
  switch (trigger.type) {
    case 'event':
      compiled = { type: 'event', trigger: prepareEventTrigger(trigger, '', expressions) };
      break;
    case 'compound': {
      const require = trigger.require === 'all' ? trigger.triggers.length : trigger.require === 'any' ? 1 : trigger.require;
      compiled = {
        type: 'compound',
        require,
        triggers: trigger.triggers.map((t, i) => prepareEventTrigger(t, `triggers.${i}.`, expressions)),
        withinSeconds: trigger.withinSeconds,
      };
      break;
    }
    case 'sequence':
      compiled = {
        type: 'sequence',
        triggers: trigger.triggers.map((t, i) => prepareEventTrigger(t, `triggers.${i}.`, expressions)),
        withinSeconds: trigger.withinSeconds,
      };
      break;
    case 'proactive': {
      if (trigger.after) expressions.after = currentAuditKinds(trigger.after);
      if (trigger.groupBy) expressions.groupBy = currentAuditKinds(trigger.groupBy);
      compiled = {
        type: 'proactive',
        expect: currentAuditKinds(trigger.expect),
        after: trigger.after ? 'after' : null,
        groupBy: trigger.groupBy ? 'groupBy' : null,
        cron: trigger.cron
          ? timelineOf({ kind: 'cron', cron: trigger.cron.cron, timezone: trigger.cron.timezone ?? 'UTC' })
          : null,
        withinSeconds: trigger.withinSeconds,
      };
      break;
    }
  }
  const compiledActions = actions.map((action, index): CompiledAction => {
    const templates: Record<string, unknown> = {};
    for (const field of ['parameters', 'run', 'subject', 'body'] as const) {
      const value = (action as Record<string, unknown>)[field];
      if (value !== undefined) templates[field] = value;
    }
    return { index, action, templates };
  });
  return { trigger: compiled, expressions, actions: compiledActions };
}

/** Compiled automations by id, recompiled when the row's updated_at changes. */
export class CompiledCache {
  readonly #entries = new Map<string, { version: number; compiled: CompiledAutomation }>();

  get(id: string, updatedAt: Date, trigger: Trigger, actions: readonly AutomationAction[]): CompiledAutomation {
    const version = updatedAt.getTime();
    const hit = this.#entries.get(id);
    if (hit && hit.version === version) return hit.compiled;
    const compiled = compileAutomation(trigger, actions);
    this.#entries.set(id, { version, compiled });
    return compiled;
  }

  /** Forgets automations not in `ids` (deleted or disabled), so the cache follows the table. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.#entries.keys()) if (!ids.has(id)) this.#entries.delete(id);
  }
}
