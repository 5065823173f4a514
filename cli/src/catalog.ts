import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Command } from './command.js';

/** What `outpost` knows of a command before importing it: everything but `run`. */
export type CommandInfo = Omit<Command, 'run'>;

interface CatalogFile {
  /** Each command module's SHA-1 when the catalog was written. */
  modules: Record<string, { sha1: string }>;
  commands: (CommandInfo & { module: string; export: string })[];
}

/** The commands, in help order, and how to import the one a command line names. */
export interface Catalog {
  commands: readonly CommandInfo[];
  load(info: CommandInfo): Promise<Command>;
}

const DIR = new URL('./commands/', import.meta.url);

/*
 * Importing every command module costs most of the CLI's start: `deploy` and `dev` bring esbuild,
 * the SDK's runtime and undici, `run` chrono-node. Measured on a 2-core machine, `outpost --help`
 * took a median 681 ms importing them all. The catalog (written by scripts/command-catalog.mjs at
 * build) names each command's module, so only that one is imported.
 */

/** The catalog written at build, or every command imported when it is missing or does not match the modules. */
export async function loadCatalog(): Promise<Catalog> {
  const file = readCatalog();
  if (file) {
    const byName = new Map(file.commands.map((c) => [c.name, c]));
    return {
      commands: file.commands,
      async load(info) {
        const entry = byName.get(info.name)!;
        const module = (await import(new URL(entry.module, DIR).href)) as Record<string, Command>;
        return module[entry.export]!;
      },
    };
  }
  const { COMMANDS } = await import('./commands/index.js');
  return { commands: COMMANDS, load: async (info) => info as Command };
}

function readCatalog(): CatalogFile | null {
  let file: CatalogFile;
  try {
    file = JSON.parse(readFileSync(new URL('catalog.json', DIR), 'utf8')) as CatalogFile;
  } catch {
    return null;
  }
  // A dist/ rebuilt by tsc alone has modules the catalog does not describe.
  const built = readdirSync(DIR).filter((f) => f.endsWith('.js') && f !== 'index.js');
  if (built.length !== Object.keys(file.modules).length) return null;
  // By content, not mtime: npm, turbo's cache and `cp` give every file a new mtime, and a catalog
  // judged stale by that made an installed `outpost --help` import every command (1.3–1.7 s).
  // Hashing the modules (about 250 kB) costs a few milliseconds.
  for (const [name, built] of Object.entries(file.modules)) {
    try {
      if (moduleHash(readFileSync(new URL(name, DIR))) !== built.sha1) return null;
    } catch {
      return null;
    }
  }
  return file;
}

/** How the catalog identifies a module's build; scripts/command-catalog.mjs computes the same. */
function moduleHash(text: Buffer): string {
  return createHash('sha1').update(text).digest('hex');
}
