import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildInputs, treeDigest } from '../../infra/docker/build-inputs.mjs';

/*
 * `npm run images` leaves an image as it is when the digest of its inputs equals the one on its
 * label: every change that could change the image must change the digest, and nothing else may.
 */
describe("the digest of an image's inputs", () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'outpost-build-inputs-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  function context(name: string): string {
    const dir = path.join(scratch, name);
    mkdirSync(path.join(dir, 'worker/dist'), { recursive: true });
    mkdirSync(path.join(dir, 'worker/bin'), { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), '{"name":"outpost"}\n');
    writeFileSync(path.join(dir, 'worker/dist/main.js'), 'console.log(1);\n');
    writeFileSync(path.join(dir, 'worker/bin/outpost-worker.js'), '#!/usr/bin/env node\n', { mode: 0o755 });
    symlinkSync('../dist/main.js', path.join(dir, 'worker/bin/main'));
    return dir;
  }
  /** An image's digest: its context's tree digest beside the other inputs, as npm run images makes it. */
  const digestOf = (dir: string, values: Record<string, string>) => buildInputs({ context: treeDigest(dir), ...values });
  const values = {
    dockerfile: 'worker.Dockerfile',
    base: 'sha256:aa',
    buildBase: 'sha256:bb',
    version: '0.2.0',
    revision: 'abc',
  };

  it('is the same for the same files and values, wherever the context lies', () => {
    expect(digestOf(context('one'), values)).toBe(digestOf(context('two'), { ...values }));
    expect(digestOf(context('three'), values)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with a byte of a file, a mode, a rename, a new empty file, a link target or any value', () => {
    const digest = digestOf(context('base'), values);
    const changes: [string, (dir: string) => void][] = [
      ['a byte', (dir) => writeFileSync(path.join(dir, 'worker/dist/main.js'), 'console.log(2);\n')],
      ['a mode', (dir) => chmodSync(path.join(dir, 'worker/bin/outpost-worker.js'), 0o644)],
      ['a rename', (dir) => renameSync(path.join(dir, 'worker/dist/main.js'), path.join(dir, 'worker/dist/index.js'))],
      ['an empty file', (dir) => writeFileSync(path.join(dir, 'worker/dist/empty.js'), '')],
      [
        'a link target',
        (dir) => {
          unlinkSync(path.join(dir, 'worker/bin/main'));
          symlinkSync('../dist/other.js', path.join(dir, 'worker/bin/main'));
        },
      ],
    ];
    const seen = new Set([digest]);
    for (const [name, change] of changes) {
      const dir = context(`changed-${name.replace(/\W/g, '-')}`);
      change(dir);
      const changed = digestOf(dir, values);
      expect(seen.has(changed), `${name} changes the digest`).toBe(false);
      seen.add(changed);
    }
    for (const name of Object.keys(values) as (keyof typeof values)[]) {
      const changed = digestOf(context(`value-${name}`), { ...values, [name]: `${values[name]}x` });
      expect(seen.has(changed), `the value ${name} changes the digest`).toBe(false);
      seen.add(changed);
    }
  });
});
