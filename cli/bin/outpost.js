#!/usr/bin/env node
// The `outpost` command. The CLI is TypeScript compiled into dist/. npm links this file when it
// installs the package, which in a fresh clone of the Outpost repository happens before anything is
// compiled; the first call there builds the workspace, once, and then runs the command.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main.js', import.meta.url);

if (!existsSync(entry)) {
  const root = new URL('../../', import.meta.url);
  if (!isOutpostCheckout(root)) {
    process.stderr.write(
      'error: this @outpost/cli installation has no dist/ directory; reinstall it: npm install @outpost/cli\n',
    );
    process.exit(1);
  }
  process.stderr.write('outpost: building the workspace first (a fresh clone; this happens once)…\n');
  const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: fileURLToPath(root), stdio: ['ignore', 2, 2] });
  if (built.status !== 0 || !existsSync(entry)) {
    process.stderr.write(`error: the build failed; run \`npm run build\` in ${fileURLToPath(root)} to see why\n`);
    process.exit(1);
  }
}

await import(entry.href);

/** Whether `dir` is the root of the Outpost repository (the workspace that holds this package). */
function isOutpostCheckout(dir) {
  try {
    const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'));
    return pkg.name === 'outpost' && Array.isArray(pkg.workspaces) && existsSync(new URL('turbo.json', dir));
  } catch {
    return false;
  }
}
