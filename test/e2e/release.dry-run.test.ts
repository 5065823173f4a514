import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRegistry, startLocalRegistry } from '../support/local-registry.js';
import { repoRoot } from '../support/processes.js';

const run = promisify(execFile);

interface Report {
  version: string;
  together: string;
  packages: { name: string; version: string; files: string[]; installDir: string }[];
}

describe('the release dry-run', () => {
  let work: string;
  let report: Report;
  let registry: LocalRegistry;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'outpost-release-test-'));
    // Third-party packages come from a registry on 127.0.0.1, never from the public one.
    registry = await startLocalRegistry();
    const reportPath = join(work, 'report.json');
    const args = ['--dry-run', '--skip-build', '--work-dir', work, '--report', reportPath, '--install-registry', registry.url];
    await run('node', ['scripts/release.mjs', ...args], {
      cwd: repoRoot,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, npm_config_cache: join(work, 'npm-cache') },
    });
    report = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
  });

  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('packs the four packages at the one version of the repository', async () => {
    const root = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(report.packages.map((p) => p.name).sort()).toEqual([
      '@outpost/cli',
      '@outpost/sdk',
      '@outpost/server',
      '@outpost/worker',
    ]);
    expect(new Set(report.packages.map((p) => p.version))).toEqual(new Set([root.version]));
  });

  it('ships no tests, Python bytecode or source maps, and ships the server its migrations and dashboard', () => {
    const files = report.packages.flatMap((p) => p.files.map((file) => `${p.name}/${file}`));
    expect(files.filter((f) => /\/(test|tests)\/|\.test\.[jt]s$|test_[^/]*\.py$|\.pyc$|__pycache__|\.map$/.test(f))).toEqual([]);
    const server = report.packages.find((p) => p.name === '@outpost/server')!.files;
    expect(server).toContain('dist/dashboard/index.html');
    expect(server.some((f) => f.startsWith('dist/api/migrations/') && f.endsWith('.sql'))).toBe(true);
  });

  it('installs each package alone, and its command runs there', async () => {
    const cli = report.packages.find((p) => p.name === '@outpost/cli')!;
    const { stdout } = await run(join(cli.installDir, 'node_modules/.bin/outpost'), ['--version'], { cwd: cli.installDir });
    expect(stdout).toContain(report.version);
    const worker = report.packages.find((p) => p.name === '@outpost/worker')!;
    const help = await run(join(worker.installDir, 'node_modules/.bin/outpost-worker'), ['--help'], { cwd: worker.installDir });
    expect(help.stdout).toContain('--pool');
  });

  it('lets the installed CLI start the server package beside it', async () => {
    const { stdout } = await run(join(report.together, 'node_modules/.bin/outpost'), ['server', 'start', '--help'], {
      cwd: report.together,
    });
    expect(stdout).toContain('outpost server start');
  });

  it('finds the release version in the charts, the compose file and the changelog, and names a file that lags', async () => {
    const { versionedFileProblems } = (await import(join(repoRoot, 'scripts/release.mjs'))) as {
      versionedFileProblems: (root: string, version: string) => string[];
    };
    expect(versionedFileProblems(repoRoot, report.version)).toEqual([]);
    const ahead = versionedFileProblems(repoRoot, '99.0.0');
    expect(ahead).toContain(`infra/helm/outpost-worker/Chart.yaml names ${report.version}, not 99.0.0`);
    expect(ahead).toContain('CHANGELOG.md has no "## 99.0.0" section');
  });

  it('refuses to publish without --dry-run or a registry', async () => {
    const error = await run('node', ['scripts/release.mjs'], { cwd: repoRoot }).catch((e: { code: number; stderr: string }) => e);
    expect((error as { code: number }).code).toBe(1);
    expect((error as { stderr: string }).stderr).toContain('refusing to publish without a registry');
  });
});
