import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../support/processes.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * What type-checking a flow project costs, the step `outpost deploy` and `outpost dev` take before
 * they build: a flow with parameters that calls another flow and waits for an approval with a form.
 * The same project is checked against the SDK's declarations, and against the forms they had
 * before 2026-12-01, declared in the project itself: flow()'s parameters and wait.approval()'s
 * data chosen by `P extends ParamsSchema` / `F extends z.ZodType`, the parameters bound by
 * ParamsSchema when it was z.ZodType<Record<string, unknown>>, and the form bound by z.ZodType.
 * Each of those made the checker compare a zod class with ZodType member by member. Rounds are
 * interleaved; each is a fresh program (parse, bind, check), as one deploy makes.
 */
export const timeoutSeconds = 240;

const ROUNDS = 5;

const FLOWS = (sdk: string) => `import { flow, wait, z } from '${sdk}';

const train = flow(
  { name: 'train', params: z.object({ epochs: z.number().int().default(5), lr: z.number().default(0.01) }) },
  async ({ epochs, lr }) => ({ auc: 0.91, epochs, lr }),
);

export const pipeline = flow(
  { name: 'pipeline', params: z.object({ day: z.string(), models: z.array(z.string()).default([]) }) },
  async ({ day, models }) => {
    const model = await train({ epochs: 3 });
    const decision = await wait.approval({
      title: \`Promote the model of \${day}?\`,
      form: z.object({ rollout: z.number().min(0).max(100).default(10) }),
    });
    return { day, models, auc: model.auc, rollout: decision.data?.rollout ?? 0 };
  },
);
`;

/** The declarations as they were: the same types, chosen and bound the old way. */
const BEFORE_DECLARATIONS = `import type { ApprovalResult, FlowContext, FlowOptions, NoParams, WaitApprovalOptions, z } from '@outpost/sdk';
import type { JsonObject } from '@outpost/sdk/contracts';
export { z } from '@outpost/sdk';
type ParamsSchema = z.ZodType<Record<string, unknown>, Record<string, unknown>>;
type Args<P> = P extends ParamsSchema ? (Record<string, never> extends z.input<P> ? [params?: z.input<P>] : [params: z.input<P>]) : [];
type Flow<P, R> = ((...args: Args<P>) => Promise<R>) & { readonly flowName: string };
export declare function flow<P extends ParamsSchema, R>(options: FlowOptions<P> & { params: P }, fn: (params: z.output<P>, ctx: FlowContext) => R): Flow<P, Awaited<R>>;
export declare function flow<R>(options: FlowOptions<undefined>, fn: (params: NoParams, ctx: FlowContext) => R): Flow<undefined, Awaited<R>>;
export declare const wait: {
  approval<F extends z.ZodType | undefined = undefined>(options: WaitApprovalOptions<F>): Promise<ApprovalResult<F extends z.ZodType ? z.output<F> : JsonObject>>;
};
`;

/** A user's tsconfig.json: strict, Node's module resolution, Node's types. */
const TSCONFIG = {
  compilerOptions: {
    strict: true,
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    skipLibCheck: true,
    types: ['node'],
    noEmit: true,
  },
};

interface Check {
  cpuMs: number;
  types: number;
  instantiations: number;
  errors: number;
}

function check(project: string): Check {
  const read = ts.readConfigFile(join(project, 'tsconfig.json'), ts.sys.readFile);
  const options = ts.parseJsonConfigFileContent(read.config, ts.sys, project).options;
  const started = process.cpuUsage();
  const program = ts.createProgram({ rootNames: [join(project, 'flows', 'pipeline.ts')], options });
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error).length;
  const used = process.cpuUsage(started);
  return {
    cpuMs: (used.user + used.system) / 1000,
    types: program.getTypeCount(),
    instantiations: program.getInstantiationCount(),
    errors,
  };
}

async function writeProject(dir: string, sdk: string, extra: Record<string, string>): Promise<string> {
  await mkdir(join(dir, 'flows'), { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  await writeFile(join(dir, 'flows', 'pipeline.ts'), FLOWS(sdk));
  for (const [file, text] of Object.entries(extra)) await writeFile(join(dir, 'flows', file), text);
  return dir;
}

export async function run(): Promise<Row[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'outpost-bench-typecheck-'));
  try {
    const now = await writeProject(join(scratch, 'now'), '@outpost/sdk', {});
    const before = await writeProject(join(scratch, 'before'), './before-sdk.js', { 'before-sdk.d.ts': BEFORE_DECLARATIONS });
    const nowRuns: Check[] = [];
    const beforeRuns: Check[] = [];
    check(now); // loads the compiler's own modules before anything is timed
    for (let i = 0; i < ROUNDS; i++) {
      beforeRuns.push(check(before));
      nowRuns.push(check(now));
    }
    for (const [name, runs] of [
      ['now', nowRuns],
      ['before', beforeRuns],
    ] as const) {
      const errors = runs[0]?.errors ?? 0;
      if (errors > 0) throw new Error(`the ${name} project has ${errors} type error(s): the bench compares clean checks only`);
    }
    const median = (runs: Check[]) =>
      percentile(
        runs.map((r) => r.cpuMs),
        50,
      );
    const last = (runs: Check[]) => runs[runs.length - 1] as Check;
    const note = 'baseline: the same project against the declarations flow() and wait.approval() had before 2026-12-01';
    return [
      row('type-check of a flow project: CPU (median of 5)', median(nowRuns), 'ms', median(beforeRuns), note),
      row('type-check of a flow project: types the checker made', last(nowRuns).types, 'types', last(beforeRuns).types, note),
      row(
        'type-check of a flow project: generic instantiations',
        last(nowRuns).instantiations,
        'instantiations',
        last(beforeRuns).instantiations,
        note,
      ),
    ];
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
