import type { ApprovalDecision, JsonObject, Wait } from '@outpost/sdk/contracts';
import { WAIT_KINDS, WAIT_STATUSES } from '@outpost/sdk/contracts';
import { type Command, type CommandContext, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, printList, shortTime } from '../output.js';

/** What a wait waits for, in a few words. */
function waitsFor(wait: Wait): string {
  switch (wait.spec.kind) {
    case 'approval':
      return `approval “${wait.spec.title}”`;
    case 'event':
      return `event ${wait.spec.event}`;
    case 'token':
      return `token ${wait.spec.token}`;
    case 'until':
      return `until ${wait.spec.until}`;
    case 'run':
      return `run ${wait.spec.flowRunId}`;
    case 'external':
      return `${wait.spec.label} ${JSON.stringify(wait.spec.handle)}`;
  }
}

function outcome(wait: Wait): string {
  if (wait.spec.kind === 'external' && wait.poll) {
    const ended = wait.status === 'RESOLVED' ? (wait.value as { state?: string } | null)?.state : null;
    const said = wait.poll.message ? `: ${wait.poll.message}` : '';
    return `${ended ?? (wait.poll.cancelPending ? 'cancelling' : 'running')}, polled ${wait.poll.count}×${said}`;
  }
  if (wait.spec.kind !== 'approval' || wait.status !== 'RESOLVED') return '';
  const decision = wait.value as ApprovalDecision | null;
  if (!decision) return '';
  return `${decision.approved ? 'approved' : 'rejected'} by ${decision.decidedBy.label ?? decision.decidedBy.id}`;
}

function oneOf<T extends string>(raw: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (raw === undefined) return undefined;
  const value = (flag === '--status' ? raw.toUpperCase() : raw.toLowerCase()) as T;
  if (!allowed.includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return value;
}

function parseJson(raw: string | undefined, flag: string): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new UsageError(`${flag} is not valid JSON`, [(error as Error).message]);
  }
}

export const waitsLs: Command = {
  name: 'waits ls',
  summary: 'List durable waits, newest first (pending approvals: --kind approval --status waiting)',
  options: {
    run: { type: 'string', placeholder: '<run-id>', description: "only this run's waits" },
    kind: { type: 'string', placeholder: '<kind>', description: `only waits of this kind (${WAIT_KINDS.join(', ')})` },
    status: { type: 'string', placeholder: '<status>', description: `only waits in this status (${WAIT_STATUSES.join(', ')})` },
  },
  async run(ctx) {
    const query = {
      ...(stringOption(ctx.values, 'run') ? { flowRunId: stringOption(ctx.values, 'run') } : {}),
      ...(stringOption(ctx.values, 'kind') ? { kind: oneOf(stringOption(ctx.values, 'kind'), WAIT_KINDS, '--kind') } : {}),
      ...(stringOption(ctx.values, 'status')
        ? { status: oneOf(stringOption(ctx.values, 'status'), WAIT_STATUSES, '--status') }
        : {}),
    };
    const { items } = await ctx.api().call('waitsList', { query }, 'cannot list waits');
    return printList(
      ctx,
      items,
      ['ID', 'RUN', 'KEY', 'WAITS FOR', 'STATUS', 'CREATED', 'OUTCOME'],
      (w) => [w.id, w.flowRunName, w.key, waitsFor(w), w.status, shortTime(w.createdAt), outcome(w)],
      'no waits',
    );
  },
};

async function decide(ctx: CommandContext, approved: boolean): Promise<number> {
  const id = ctx.positionals[0] as string;
  const data = parseJson(stringOption(ctx.values, 'data'), '--data');
  if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data))) {
    throw new UsageError('--data must be a JSON object, e.g. \'{"replicas": 3}\'');
  }
  const comment = stringOption(ctx.values, 'comment');
  const { wait } = await ctx
    .api()
    .call(
      'waitsDecide',
      { params: { id }, body: { approved, ...(data ? { data: data as JsonObject } : {}), ...(comment ? { comment } : {}) } },
      `cannot ${approved ? 'approve' : 'reject'} wait ${id}`,
    );
  return ctx.result(wait, `${approved ? 'approved' : 'rejected'} ${waitsFor(wait)} of run ${wait.flowRunName}`);
}

const DECIDE_OPTIONS = {
  data: {
    type: 'string',
    placeholder: '<json>',
    description: "the approval form's values, a JSON object checked against its schema",
  },
  comment: { type: 'string', placeholder: '<text>', description: 'a comment kept with the decision' },
} as const;

export const waitsApprove: Command = {
  name: 'waits approve',
  args: '<wait-id>',
  summary: 'Approve an approval wait (the run suspended on it resumes)',
  options: DECIDE_OPTIONS,
  notes: ["Example: outpost waits approve 7c0e… --data '{\"replicas\": 3}' --comment 'traffic doubled'"],
  run: (ctx) => decide(ctx, true),
};

export const waitsReject: Command = {
  name: 'waits reject',
  args: '<wait-id>',
  summary: 'Reject an approval wait (the flow goes on with approved: false)',
  options: DECIDE_OPTIONS,
  run: (ctx) => decide(ctx, false),
};

export const tokensComplete: Command = {
  name: 'tokens complete',
  args: '<token>',
  summary: 'Complete a wait token with a value; the flow waiting for it resumes (a token no wait asked for is refused)',
  options: { value: { type: 'string', placeholder: '<json>', description: 'the value the waiting flow receives (JSON)' } },
  async run(ctx) {
    const token = ctx.positionals[0] as string;
    const value = parseJson(stringOption(ctx.values, 'value'), '--value');
    const done = await ctx
      .api()
      .call(
        'waitTokensComplete',
        { params: { token }, body: value === undefined ? {} : { value } },
        `cannot complete token ${token}`,
      );
    if (ctx.json) ctx.out(json(done));
    else if (done.wait)
      ctx.out(`token ${token} completed: run ${done.wait.flowRunName}'s wait ${done.wait.key} is ${done.wait.status}`);
    else ctx.out(`token ${token} completed`);
    return EXIT.ok;
  },
};
