import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Automation, AutomationAction, AutomationCreateRequest, Firing, Trigger } from '@outpost/sdk/contracts';
import { parse as parseYaml } from 'yaml';
import type { Command, CommandContext } from '../command.js';
import { stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, printList, shortTime } from '../output.js';
import { everyItem } from '../pages.js';

/** A trigger in one line of words. */
export function describeTrigger(t: Trigger): string {
  switch (t.type) {
    case 'event': {
      const parts = [`when ${t.match}`];
      if (t.threshold) parts.push(`${t.threshold.count} times within ${t.threshold.withinSeconds}s`);
      if (t.groupBy) parts.push(`per ${t.groupBy}`);
      if (t.cooldownSeconds) parts.push(`at most once per ${t.cooldownSeconds}s`);
      return parts.join(', ');
    }
    case 'compound':
      return `when ${t.require} of ${t.triggers.length} triggers match within ${t.withinSeconds}s`;
    case 'sequence':
      return `when ${t.triggers.length} triggers match in order within ${t.withinSeconds}s`;
    case 'proactive':
      return t.after
        ? `unless ${t.expect} within ${t.withinSeconds}s after ${t.after}`
        : `unless ${t.expect} within ${t.withinSeconds}s of each "${t.cron?.cron}" (${t.cron?.timezone ?? 'UTC'})`;
  }
}

/** An action in words; `owner` names the deployment that declared the automation, which actions without a deployment of their own target. */
export function describeAction(a: AutomationAction, owner = 'its deployment'): string {
  switch (a.type) {
    case 'run-deployment':
      return `run ${a.deployment ?? owner}`;
    case 'pause-deployment':
    case 'resume-deployment':
      return `${a.type.split('-')[0]} ${a.deployment ?? owner}`;
    case 'pause-schedule':
    case 'resume-schedule':
      return `${a.type.split('-')[0]} schedule ${a.schedule} of ${a.deployment ?? owner}`;
    case 'pause-pool':
    case 'resume-pool':
      return `${a.type.split('-')[0]} pool ${a.pool}`;
    case 'notify':
      return `notify ${a.channel}`;
    default:
      return a.type.replace('-', ' ');
  }
}

/** The request in a JSON or YAML file (by extension; `-` reads stdin as JSON or YAML). */
function readDefinition(file: string, cwd: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : path.resolve(cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? (error as Error).message)}`);
  }
  try {
    return /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
}

/** `flow/name` of the deployment that declared an automation, or its id when it cannot be read (deleted since). */
async function ownerLabel(ctx: CommandContext, deploymentId: string): Promise<string> {
  const found = await ctx.api().attempt('deploymentsGet', { params: { id: deploymentId } });
  return found.ok ? `${found.data.flowName}/${found.data.name}` : deploymentId;
}

async function printAutomation(ctx: CommandContext, a: Automation): Promise<void> {
  const owner = a.deploymentId ? await ownerLabel(ctx, a.deploymentId) : undefined;
  ctx.out(`${a.name} (${a.id})`);
  ctx.out(`  ${a.enabled ? 'enabled' : 'disabled'}${owner ? `, declared by deployment ${owner}` : ''}`);
  if (!a.enabled && a.disabledReason) ctx.out(`  turned off: ${a.disabledReason}`);
  if (a.description) ctx.out(`  ${a.description}`);
  ctx.out(`  trigger: ${describeTrigger(a.trigger)}`);
  for (const [i, action] of a.actions.entries()) ctx.out(`  action ${i}: ${describeAction(action, owner)}`);
  ctx.out(`  last fired: ${shortTime(a.lastFiredAt)}`);
  if (a.lastError) ctx.out(`  last error: ${a.lastError}`);
}

export const automationsLs: Command = {
  name: 'automations ls',
  summary: 'List automations',
  async run(ctx) {
    const api = ctx.api();
    const items = await everyItem((cursor) =>
      api.call('automationsList', { query: { limit: 200, ...(cursor ? { cursor } : {}) } }, 'cannot list automations'),
    );
    return printList(
      ctx,
      items,
      ['NAME', 'ID', 'STATUS', 'LAST FIRED (UTC)', 'ERROR', 'TRIGGER'],
      (a) => [
        a.name,
        a.id,
        a.enabled ? 'enabled' : 'disabled',
        shortTime(a.lastFiredAt),
        a.lastError ? 'yes' : '',
        describeTrigger(a.trigger),
      ],
      'no automations (create one with `outpost automations create -f automation.yaml`)',
    );
  },
};

export const automationsGet: Command = {
  name: 'automations get',
  args: '<id>',
  summary: 'Show an automation: its trigger in words, actions, last firing and error',
  async run(ctx) {
    const id = ctx.positionals[0] as string;
    const a = await ctx.api().call('automationsGet', { params: { id } }, `cannot get automation ${id}`);
    if (ctx.json) ctx.out(json(a));
    else await printAutomation(ctx, a);
    return EXIT.ok;
  },
};

const FILE_OPTION = {
  file: { type: 'string', short: 'f', placeholder: '<file>', description: 'the automation as JSON or YAML' },
} as const;

export const automationsCreate: Command = {
  name: 'automations create',
  summary: 'Create an automation from a JSON or YAML file',
  options: FILE_OPTION,
  notes: [
    'The file holds { name, trigger, actions, description?, enabled? }, e.g.:',
    '  name: rerun-on-file',
    '  trigger: { type: event, match: \'event.kind == "file.arrived"\' }',
    '  actions: [{ type: run-deployment, deployment: etl/nightly, parameters: { path: "{{ event.payload.path }}" } }]',
    'An expression that does not compile is refused with its field, line and column.',
  ],
  async run(ctx) {
    const file = stringOption(ctx.values, 'file');
    if (!file) throw new UsageError('give the automation file with -f <file>');
    const body = readDefinition(file, ctx.cwd) as AutomationCreateRequest;
    const a = await ctx.api().call('automationsCreate', { body }, `cannot create the automation in ${file}`);
    return ctx.result(a, `created automation ${a.name} (${a.id})`);
  },
};

export const automationsEdit: Command = {
  name: 'automations edit',
  args: '<id>',
  summary: 'Replace fields of an automation with those in a JSON or YAML file',
  options: FILE_OPTION,
  notes: ['Only the fields in the file change; a new trigger starts without the old counts and windows.'],
  async run(ctx) {
    const id = ctx.positionals[0] as string;
    const file = stringOption(ctx.values, 'file');
    if (!file) throw new UsageError('give the changes with -f <file>');
    const body = readDefinition(file, ctx.cwd) as Record<string, unknown>;
    const a = await ctx.api().call('automationsUpdate', { params: { id }, body }, `cannot change automation ${id}`);
    return ctx.result(a, `changed automation ${a.name} (${a.id})`);
  },
};

export const automationsRm: Command = {
  name: 'automations rm',
  args: '<id>',
  summary: 'Delete an automation and its firings',
  async run(ctx) {
    const id = ctx.positionals[0] as string;
    const a = await ctx.api().call('automationsDelete', { params: { id } }, `cannot delete automation ${id}`);
    return ctx.result(a, `deleted automation ${a.name}`);
  },
};

function toggle(enabled: boolean): Command {
  return {
    name: enabled ? 'automations enable' : 'automations disable',
    args: '<id>',
    summary: enabled ? 'Enable an automation' : 'Disable an automation: it sees no events until enabled',
    async run(ctx) {
      const id = ctx.positionals[0] as string;
      const a = await ctx
        .api()
        .call(
          enabled ? 'automationsEnable' : 'automationsDisable',
          { params: { id } },
          `cannot ${enabled ? 'enable' : 'disable'} automation ${id}`,
        );
      return ctx.result(a, `automation ${a.name} is ${a.enabled ? 'enabled' : 'disabled'}`);
    },
  };
}

export const automationsEnable = toggle(true);
export const automationsDisable = toggle(false);

function outcome(f: Firing): string {
  return f.actions
    .map((a) =>
      a.status === 'SUCCEEDED' ? `${a.type} ok` : `${a.type} ${a.status === 'SKIPPED' ? 'skipped' : 'FAILED'}: ${a.error ?? ''}`,
    )
    .join('; ');
}

export const automationsFirings: Command = {
  name: 'automations firings',
  args: '<id>',
  summary: "An automation's firings, newest first, with each action's outcome",
  async run(ctx) {
    const id = ctx.positionals[0] as string;
    const { items } = await ctx
      .api()
      .call('automationsFirings', { params: { id }, query: {} }, `cannot list the firings of ${id}`);
    return printList(
      ctx,
      items,
      ['FIRED (UTC)', 'KEY', 'ACTIONS'],
      (f) => [shortTime(f.firedAt), f.key, outcome(f)],
      `automation ${id} has not fired`,
    );
  },
};

export const automationsQuarantine: Command = {
  name: 'automations quarantine',
  summary: 'Events the automations skipped because evaluating them ran past their budget, newest first',
  async run(ctx) {
    const { items } = await ctx
      .api()
      .call('automationsQuarantine', { query: { limit: 200 } }, 'cannot list the quarantined events');
    return printList(
      ctx,
      items,
      ['SKIPPED (UTC)', 'EVENT', 'KIND', 'AUTOMATION', 'REASON'],
      (q) => [shortTime(q.createdAt), q.eventId, q.eventKind, q.automationId ?? '(all of the workspace)', q.reason],
      'no quarantined events',
    );
  },
};
