// Writes dist/commands/catalog.json: every command's words, summary, options and arguments, and the
// module that implements it, so `outpost` can parse a command line, print help and complete words
// without importing every command (and what each imports: esbuild, the SDK's runtime, undici), then
// import only the module of the command it runs. Runs after tsc (`npm run build`); the CLI checks
// each module's SHA-1 against the catalog and imports every command instead when one differs, so a
// dist/ rebuilt by tsc alone still works, only slower to start.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('../dist/commands/', import.meta.url));
const { COMMANDS } = await import(pathToFileURL(`${dir}index.js`).href);

const where = new Map();
const modules = {};
for (const file of readdirSync(dir).filter((f) => f.endsWith('.js') && f !== 'index.js')) {
  modules[file] = {
    sha1: createHash('sha1')
      .update(readFileSync(`${dir}${file}`))
      .digest('hex'),
  };
  const exports = await import(pathToFileURL(`${dir}${file}`).href);
  for (const [name, value] of Object.entries(exports)) {
    if (COMMANDS.includes(value) && !where.has(value)) where.set(value, { module: file, export: name });
  }
}

const commands = COMMANDS.map((command) => {
  const found = where.get(command);
  if (!found) throw new Error(`command "${command.name}" is not exported by any module of dist/commands`);
  const { run: _run, ...info } = command;
  return { ...info, ...found };
});
writeFileSync(`${dir}catalog.json`, `${JSON.stringify({ modules, commands })}\n`);
