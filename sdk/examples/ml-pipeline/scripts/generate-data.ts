import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderEmbeddedModule } from '../src/embed.js';
import { generateCsv, SHIPPED_DATASETS } from '../src/generate.js';

// Regenerates the shipped datasets and their embedded copy: `node --import tsx scripts/generate-data.ts`.
// The output is deterministic; a test fails if the committed files drift from it.
const root = new URL('../', import.meta.url);
const files: Record<string, string> = {};
for (const [name, options] of Object.entries(SHIPPED_DATASETS)) {
  files[name] = generateCsv(options);
  await writeFile(new URL(`data/${name}.csv`, root), files[name]);
}
await writeFile(new URL('src/embedded-data.ts', root), renderEmbeddedModule(files));
console.log(
  `wrote ${Object.keys(files).length} datasets under ${fileURLToPath(new URL('data/', root))} and src/embedded-data.ts`,
);
