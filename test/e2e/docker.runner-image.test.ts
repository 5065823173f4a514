import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { DEFAULT_BASE_JOB_TEMPLATE, DEFAULT_RUNNER_IMAGE, POD_RUNNER_COMMAND } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/processes.js';

/*
 * There is no Docker engine on the test machines, so the runner image is checked by reading its
 * Dockerfile against the repository: everything `outpost-pod-runner` loads when a pod starts must be
 * in the image, and the image must be the one the default base job template names.
 */
const dockerfile = (name: string) => readFileSync(path.join(repoRoot, 'infra/docker', name), 'utf8');

interface Copy {
  from: string | null;
  sources: string[];
  target: string;
}

/** The COPY instructions of each stage (continuation lines joined). */
function stages(text: string): { copies: Copy[]; runs: string[]; entrypoint: string | null }[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const result: { copies: Copy[]; runs: string[]; entrypoint: string | null }[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (/^FROM\s/i.test(line)) result.push({ copies: [], runs: [], entrypoint: null });
    const stage = result.at(-1);
    if (!stage) continue;
    const copy = /^COPY\s+(--from=(\S+)\s+)?(.+)$/i.exec(line);
    if (copy) {
      const parts = copy[3]!.split(/\s+/);
      stage.copies.push({ from: copy[2] ?? null, sources: parts.slice(0, -1), target: parts.at(-1)! });
    }
    const run = /^RUN\s+(.+)$/i.exec(line);
    if (run) stage.runs.push(run[1]!);
    const entry = /^ENTRYPOINT\s+(.+)$/i.exec(line);
    if (entry) stage.entrypoint = entry[1]!;
  }
  return result;
}

/** Repository paths (relative) the final stage copies out of the build stage at /src. */
function copiedFromBuild(text: string): string[] {
  const final = stages(text).at(-1)!;
  return final.copies
    .filter((c) => c.from === 'build')
    .flatMap((c) => c.sources)
    .map((s) => path.posix.relative('/src', s));
}

/** Whether a repository path ends up in the image: it, or a directory holding it, is copied. */
function inImage(copied: string[], file: string): boolean {
  return copied.some((c) => c === '' || file === c || file.startsWith(`${c}/`));
}

/** The files `outpost-pod-runner` loads, as paths in the built repository, and the packages they import. */
function podRunnerClosure(): { files: string[]; packages: Set<string> } {
  const workerPackage = JSON.parse(readFileSync(path.join(repoRoot, 'worker/package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  const bin = path.posix.join('worker', workerPackage.bin[POD_RUNNER_COMMAND[0]]!);
  const files = [bin];
  const packages = new Set<string>();
  const entry = /import '([^']+)'/.exec(readFileSync(path.join(repoRoot, bin), 'utf8'))?.[1];
  expect(entry, `${bin} imports its entry point`).toBeDefined();
  // Compiled files map back to their sources: worker/dist/x.js ← worker/src/x.ts.
  const queue = [path.posix.join(path.posix.dirname(bin), entry!)];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const compiled = queue.pop()!;
    if (seen.has(compiled)) continue;
    seen.add(compiled);
    files.push(compiled);
    const source = compiled.replace(/^worker\/dist\//, 'worker/src/').replace(/\.js$/, '.ts');
    expect(existsSync(path.join(repoRoot, source)), `${compiled} is built from ${source}`).toBe(true);
    const text = readFileSync(path.join(repoRoot, source), 'utf8');
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?'([^']+)'/gm),
      ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
    ].map((m) => m[1]!);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) queue.push(path.posix.join(path.posix.dirname(compiled), specifier));
      else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) packages.add(specifier);
    }
    // The flow itself runs under the SDK's runner, resolved at run time.
    if (/'@outpost\/sdk\/runner'/.test(text)) packages.add('@outpost/sdk/runner');
  }
  return { files, packages };
}

/** Where a package export resolves to in the repository, for the workspace packages. */
function workspaceExport(specifier: string): string | null {
  const match = /^@outpost\/(sdk|worker)(\/.*)?$/.exec(specifier);
  if (!match) return null;
  const dir = match[1]!;
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as {
    exports: Record<string, { default: string }>;
  };
  const target = manifest.exports[`.${match[2] ?? ''}`]?.default;
  expect(target, `${dir}/package.json exports ${specifier}`).toBeDefined();
  return path.posix.join(dir, target!);
}

describe('the runner image', () => {
  const text = dockerfile('runner.Dockerfile');

  it('copies every file outpost-pod-runner loads, and its packages, into the image', () => {
    const copied = copiedFromBuild(text);
    const { files, packages } = podRunnerClosure();
    expect(files).toContain('worker/dist/pod-runner/main.js');
    for (const file of files) expect(inImage(copied, file), `${file} is copied into the image`).toBe(true);
    const workerDeps = Object.keys(
      (JSON.parse(readFileSync(path.join(repoRoot, 'worker/package.json'), 'utf8')) as { dependencies: Record<string, string> })
        .dependencies,
    );
    expect(packages).toContain('@outpost/sdk/runner');
    for (const specifier of packages) {
      const inWorkspace = workspaceExport(specifier);
      if (inWorkspace) {
        expect(inImage(copied, inWorkspace), `${specifier} (${inWorkspace}) is copied into the image`).toBe(true);
        expect(inImage(copied, `${inWorkspace.split('/')[0]}/package.json`)).toBe(true);
      } else {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        expect(workerDeps, `${name} is a dependency of @outpost/worker, kept by the production install`).toContain(name);
      }
    }
    expect(copied).toContain('node_modules');
  });

  it('builds from files that exist in the repository', () => {
    const [build] = stages(text);
    for (const copy of build!.copies.filter((c) => c.from === null)) {
      for (const source of copy.sources.filter((s) => s !== '.'))
        expect(existsSync(path.join(repoRoot, source)), `${source} exists`).toBe(true);
    }
    const copied = copiedFromBuild(text).filter((p) => !/(^|\/)(dist|node_modules)$/.test(p));
    for (const source of copied) expect(existsSync(path.join(repoRoot, source)), `${source} exists`).toBe(true);
    // The build compiles the worker and what it depends on, which produces the dist folders copied.
    expect(build!.runs.join('\n')).toContain('--filter=@outpost/worker...');
  });

  it('puts the pod command on PATH, as the default base job template runs it', () => {
    const command = POD_RUNNER_COMMAND[0];
    const final = stages(text).at(-1)!;
    const link = final.runs.map((r) => /ln -s (\S+) \/usr\/local\/bin\/(\S+)/.exec(r)).find((m) => m?.[2] === command);
    expect(link, `a RUN links /usr/local/bin/${command}`).toBeDefined();
    expect(inImage(copiedFromBuild(text), path.posix.relative('/app', link![1]!))).toBe(true);
    expect(final.entrypoint).toBe(JSON.stringify([command]).replace(/,/g, ', '));
    const container = DEFAULT_BASE_JOB_TEMPLATE.spec.template.spec.containers[0];
    expect(container.command).toEqual([...POD_RUNNER_COMMAND]);
    expect(container.image).toBe(DEFAULT_RUNNER_IMAGE);
  });

  it('is the image the default base job template names, built as its header says', () => {
    expect(text).toContain(DEFAULT_RUNNER_IMAGE.replace(/:[^:]+$/, ':'));
    expect(text).toContain('docker build -f infra/docker/runner.Dockerfile');
    const docs = readFileSync(path.join(repoRoot, 'docs/kubernetes.md'), 'utf8');
    expect(docs).toContain(DEFAULT_RUNNER_IMAGE);
    expect(docs).toContain('infra/docker/runner.Dockerfile');
  });

  it('the worker image carries the pod runner as well', () => {
    const worker = dockerfile('worker.Dockerfile');
    const copied = copiedFromBuild(worker);
    for (const file of podRunnerClosure().files) expect(inImage(copied, file), `${file} is in the worker image`).toBe(true);
    expect(
      stages(worker)
        .at(-1)!
        .runs.some((r) => r.includes(`/usr/local/bin/${POD_RUNNER_COMMAND[0]}`)),
    ).toBe(true);
  });
});
