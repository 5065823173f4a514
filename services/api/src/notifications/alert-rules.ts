import { ALERT_RULE_PREFIX, type AlertRuleCreateRequest, type AutomationAction, type Trigger } from '@outpost/sdk/contracts';

/** A CEL string literal. */
const lit = (value: string): string => JSON.stringify(value);

const TERMINAL = '["flow-run.completed", "flow-run.failed", "flow-run.crashed", "flow-run.cancelled"]';

/**
 * The automation a built-in alert rule stands for: a trigger over the ledger's system events and one
 * notify action. Rules are presets, not a second engine: what they create is an automation like any
 * other, listed, edited and disabled as one.
 */
export function alertRuleAutomation(r: AlertRuleCreateRequest): {
  name: string;
  description: string;
  trigger: Trigger;
  actions: AutomationAction[];
} {
  const ofDeployment = r.deployment ? ` && event.payload.deployment == ${lit(r.deployment)}` : '';
  const ofPool = (field: string) => (r.pool ? ` && ${field} == ${lit(r.pool)}` : '');
  const scope = r.deployment ?? r.pool;
  const minutes = r.minutes ?? 0;
  let trigger: Trigger;
  let description: string;
  switch (r.rule) {
    case 'run-failed':
    case 'run-crashed': {
      const kind = r.rule === 'run-failed' ? 'flow-run.failed' : 'flow-run.crashed';
      trigger = { type: 'event', match: `event.kind == ${lit(kind)}${ofDeployment}` };
      description = `Notify when a run${r.deployment ? ` of ${r.deployment}` : ''} ${r.rule === 'run-failed' ? 'fails' : 'crashes'}`;
      break;
    }
    case 'run-late': {
      const late = `event.kind == "flow-run.scheduled" && event.payload.state.name == "Late"${ofDeployment}`;
      trigger =
        minutes > 0
          ? {
              type: 'proactive',
              after: late,
              expect: `event.kind != "flow-run.scheduled"`,
              groupBy: 'event.resource.id',
              withinSeconds: minutes * 60,
            }
          : { type: 'event', match: late };
      description = `Notify when a run${r.deployment ? ` of ${r.deployment}` : ''} is Late${minutes > 0 ? ` for ${minutes} minutes` : ''}`;
      break;
    }
    case 'pool-no-worker': {
      const notReady = `event.kind == "work-pool.not-ready"${ofPool('event.resource.name')}`;
      trigger =
        minutes > 0
          ? {
              type: 'proactive',
              after: notReady,
              expect: 'event.kind == "work-pool.ready"',
              groupBy: 'event.resource.id',
              withinSeconds: minutes * 60,
            }
          : { type: 'event', match: notReady };
      description = `Notify when ${r.pool ? `pool ${r.pool}` : 'a pool'} has no online worker${minutes > 0 ? ` for ${minutes} minutes` : ''}`;
      break;
    }
    case 'worker-offline':
      trigger = { type: 'event', match: `event.kind == "worker.offline"${ofPool('event.payload.workPool')}` };
      description = `Notify when a worker${r.pool ? ` of pool ${r.pool}` : ''} goes offline`;
      break;
    case 'duration-sla':
      trigger = {
        type: 'proactive',
        after: `event.kind == "flow-run.running"${ofDeployment}`,
        expect: `event.kind in ${TERMINAL}`,
        groupBy: 'event.resource.id',
        withinSeconds: minutes * 60,
      };
      description = `Notify when a run${r.deployment ? ` of ${r.deployment}` : ''} runs longer than ${minutes} minutes`;
      break;
    case 'asset-freshness':
      trigger = { type: 'event', match: 'event.kind == "asset.freshness.violated"' };
      description = 'Notify when an asset misses its freshness policy';
      break;
  }
  const name = [ALERT_RULE_PREFIX + r.rule, scope?.replace('/', '.'), r.channel].filter(Boolean).join('.').slice(0, 100);
  return { name, description, trigger, actions: [{ type: 'notify', channel: r.channel }] };
}
