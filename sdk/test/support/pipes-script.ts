import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles the Pipes test program (fixtures/pipes/script.ts, with the Node client from src) into
 * `dir`; its path. What it does is chosen by `extras.mode` or its first argument.
 */
export async function buildPipesScript(dir: string): Promise<string> {
  const script = path.join(dir, 'script.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('../fixtures/pipes/script.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: script,
    logLevel: 'silent',
  });
  return script;
}
