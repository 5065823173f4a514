/** What a new project's files are made from. */
export interface ProjectTemplateInput {
  /** The project's name: the bundle repository in the registry, and the package name. */
  project: string;
  /** The work pool its deployment targets. */
  pool: string;
  /** How package.json names each package: a version range, or a `file:` path to a local copy. */
  versions: ProjectVersions;
}

export interface ProjectVersions {
  sdk: string;
  cli: string;
  zod: string;
  typescript: string;
  vitest: string;
  tsx: string;
  typesNode: string;
}

const CONFIG = (input: ProjectTemplateInput) => `import { defineConfig } from '@outpost/sdk';

export default defineConfig({
  project: '${input.project}',
  // Where \`outpost deploy\` pushes the bundle: a local OCI layout directory here, or your own registry,
  // e.g. OUTPOST_REGISTRY=oci://registry.internal:5000/acme/${input.project} (credentials stay yours).
  registry: process.env.OUTPOST_REGISTRY || 'oci-layout:./.outpost/registry',
  deployments: [
    {
      flow: 'example',
      name: 'default',
      entrypoint: 'flows/example.ts',
      pool: '${input.pool}',
      description: 'Loads rows, scores them and reports a summary',
      // Attempts after the first when a run fails.
      retries: 1,
    },
  ],
});
`;

const FLOW = `import { artifact, flow, isMainModule, log, task, z } from '@outpost/sdk';

export interface Row {
  id: number;
  value: number;
}

/**
 * Loads the rows to score. Retried twice on failure, and cached for an hour: run the flow again with
 * the same count and the stored rows come back without loading (results stay on your machines).
 */
export const loadRows = task(
  { name: 'load-rows', retries: 2, retryDelaySeconds: 1, cache: true, cacheExpirationSeconds: 3600 },
  async (count: number): Promise<Row[]> => {
    log.info(\`loading \${count} rows\`);
    return Array.from({ length: count }, (_, i) => ({ id: i + 1, value: (i + 1) * 10 }));
  },
);

/** Scores one row. \`score.map(rows)\` runs it once per row, a few at a time, each a task run of its own. */
export const score = task({ name: 'score' }, async (row: Row): Promise<number> => Math.round(Math.sqrt(row.value) * 100) / 100);

export const example = flow(
  {
    name: 'example',
    description: 'Loads rows, scores them and reports a summary',
    params: z.object({ rows: z.number().int().min(1).max(1000).default(5) }),
  },
  async ({ rows }) => {
    const data = await loadRows(rows);
    const scores = await score.map(data, { concurrency: 4 });
    const total = Math.round(scores.reduce((sum, s) => sum + s, 0) * 100) / 100;
    log.info(\`scored \${scores.length} rows, total \${total}\`);
    await artifact.markdown('example-summary', \`# Example run\\n\\nScored **\${scores.length}** rows; total score **\${total}**.\`);
    return { rows: scores.length, total };
  },
);

// \`npx tsx flows/example.ts\` runs the flow right here: no server, no worker.
if (isMainModule(import.meta.url)) console.log(await example({ rows: 5 }));
`;

const FLOW_TEST = `import { describe, expect, it } from 'vitest';
import { example, score } from './example.js';

describe('example flow', () => {
  it('scores every row it loads', async () => {
    // A flow is an async function: calling it runs it in-process, tasks and all.
    const result = await example({ rows: 3 });
    expect(result.rows).toBe(3);
    expect(result.total).toBeGreaterThan(0);
  });

  it('rejects parameters outside the schema', async () => {
    await expect(example({ rows: 0 })).rejects.toThrow(/rows/);
  });

  it('scores one row like a plain function', async () => {
    expect(await score({ id: 1, value: 100 })).toBe(10);
  });
});
`;

const GITIGNORE = `node_modules/
.outpost/
.env
`;

function packageJson(input: ProjectTemplateInput): string {
  const v = input.versions;
  const pkg = {
    name: input.project,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'tsx flows/example.ts',
      test: 'vitest run',
      typecheck: 'tsc --noEmit',
      deploy: 'outpost deploy',
      run: 'outpost run example/default --watch',
    },
    dependencies: { '@outpost/sdk': v.sdk, zod: v.zod },
    devDependencies: {
      '@outpost/cli': v.cli,
      '@types/node': v.typesNode,
      tsx: v.tsx,
      typescript: v.typescript,
      vitest: v.vitest,
    },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      noEmit: true,
      types: ['node'],
    },
    include: ['outpost.config.ts', 'flows'],
  },
  null,
  2,
)}\n`;

/** Every file `outpost init` writes, by path relative to the project directory. */
export function projectFiles(input: ProjectTemplateInput): Record<string, string> {
  return {
    'outpost.config.ts': CONFIG(input),
    'flows/example.ts': FLOW,
    'flows/example.test.ts': FLOW_TEST,
    'package.json': packageJson(input),
    'tsconfig.json': TSCONFIG,
    '.gitignore': GITIGNORE,
  };
}
