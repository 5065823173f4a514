import { isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** Packages that only run on Node: reaching one from a browser bundle is as wrong as reaching `node:fs`. */
const NODE_ONLY_PACKAGES = new Set(['undici']);

/** Bundles `entry` for the browser and lists every Node built-in or Node-only package it reaches, with its importer. */
async function nodeImportsOf(entry: string): Promise<string[]> {
  const found: string[] = [];
  const watch: Plugin = {
    name: 'node-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.split('/')[0] ?? args.path;
        if (isBuiltin(args.path) || NODE_ONLY_PACKAGES.has(bare)) {
          found.push(`${args.path} (from ${args.importer.slice(args.importer.indexOf('/src/') + 1)})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    plugins: [watch],
  });
  expect(result.errors).toEqual([]);
  return found;
}

describe('the client core entry', () => {
  it('bundles for the browser without reaching a Node built-in or a Node-only package', async () => {
    expect(await nodeImportsOf('../src/client/core.ts')).toEqual([]);
  });

  it('would be caught reaching one: the Node client entry, which wraps the core with undici, is reported', async () => {
    expect(await nodeImportsOf('../src/client/index.ts')).toContain('undici (from src/client/index.ts)');
  });
});
