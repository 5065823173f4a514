import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_DATASETS } from './embedded-data.js';

export interface LoadedDataset {
  source: string;
  text: string;
  /** sha256 of the text: the dataset's identity in caches and in the model card. */
  digest: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Reads a CSV: `builtin:<name>` is a dataset shipped inside the bundle, `http(s)://…` is fetched,
 * anything else is a file path or `file://` URL on the machine that runs it.
 */
export async function readSource(source: string, signal?: AbortSignal): Promise<LoadedDataset> {
  let text: string;
  if (source.startsWith('builtin:')) {
    const shipped = EMBEDDED_DATASETS[source.slice('builtin:'.length)];
    if (shipped === undefined) {
      const names = Object.keys(EMBEDDED_DATASETS).map((n) => `builtin:${n}`);
      throw new Error(`no shipped dataset ${source} (have ${names.join(', ')})`);
    }
    text = shipped;
  } else if (/^https?:\/\//.test(source)) {
    const response = await fetch(source, signal ? { signal } : {});
    if (!response.ok) throw new Error(`GET ${describeSource(source)} answered ${response.status}`);
    text = await response.text();
  } else {
    text = await readFile(source.startsWith('file:') ? fileURLToPath(source) : source, 'utf8');
  }
  return { source, text, digest: sha256(text) };
}

/**
 * A source as it may be shown outside the machine (logs, metadata): a URL without its credentials
 * or query, a file by its name only.
 */
export function describeSource(source: string): string {
  if (source.startsWith('builtin:')) return source;
  if (/^https?:\/\//.test(source)) {
    try {
      const url = new URL(source);
      return `${url.origin}${url.pathname}`;
    } catch {
      return 'a URL';
    }
  }
  const path = source.startsWith('file:') ? source.slice('file:'.length) : source;
  return `file ${path.split(/[\\/]/).pop() ?? path}`;
}
