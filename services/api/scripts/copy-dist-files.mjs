// Run by `npm run build` after tsc: what dist needs besides compiled code. The SQL migrations, and
// the API reference's script (from @scalar/api-reference, a dev dependency an image does not keep).
import { copyFileSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

rmSync('dist/db/migrations', { recursive: true, force: true });
cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
mkdirSync('dist/api-docs', { recursive: true });
copyFileSync(createRequire(import.meta.url).resolve('@scalar/api-reference/browser/standalone.js'), 'dist/api-docs/scalar.js');
