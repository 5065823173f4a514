import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { routes, servedPath } from '@outpost/sdk/contracts';
import { DomainError } from '../domain-error.js';
import { type Encoded, encoded, negotiated } from './encoded.js';
import { openApiDocument } from './openapi.js';
import type { Handlers } from './route-types.js';
import { FileCache } from './static.js';

/**
 * The reference page's own policy. Scripts come from this server alone, as everywhere, and the
 * page talks to no other origin (the reference's "test request" calls this API). Styles may be
 * inline: the reference inserts its styles as `<style>` elements while it runs. Only this page and
 * its script get this policy; the dashboard keeps its stricter one.
 */
export const API_DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The reference's settings: this server's document, the system fonts (no font download), and none
 * of its calls home (telemetry, the developer toolbar, the assistant).
 */
const REFERENCE_SETTINGS = {
  url: servedPath(routes.openApiDocument),
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: 'never',
  agent: { disabled: true },
  hideClientButton: false,
};

const escapeAttribute = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** No inline script: the reference reads its settings from the element with id `api-reference`. */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outpost API reference</title>
</head>
<body>
<div id="api-reference" data-configuration="${escapeAttribute(JSON.stringify(REFERENCE_SETTINGS))}"></div>
<script src="${servedPath(routes.apiDocsScript)}"></script>
</body>
</html>
`;

/** The reference script's standalone bundle, from the `@scalar/api-reference` package (a dev dependency). */
const SCRIPT_IN_PACKAGE = '@scalar/api-reference/browser/standalone.js';

/**
 * Where the script is: in `dist/api-docs/`, where the build copies it (an image keeps no dev
 * dependencies), or, running from source, in the package itself. Nothing is ever downloaded.
 */
function scriptPath(): string | null {
  // The same folder from src/routes and from dist/routes.
  const built = fileURLToPath(new URL('../../dist/api-docs/scalar.js', import.meta.url));
  if (existsSync(built)) return built;
  try {
    return createRequire(import.meta.url).resolve(SCRIPT_IN_PACKAGE);
  } catch {
    return null;
  }
}

/**
 * `GET /api/v1/openapi.json`, the API's OpenAPI document; `GET /api/docs`, its reference for a
 * person (Scalar, over that document); and `GET /api/docs/scalar.js`, the reference's script, served
 * from this server: no CDN. All three describe the API and reveal nothing of a workspace, so they take
 * no credential. One per app: the document's bytes and the script's cache (each gzipped once) belong
 * to it.
 */
export function apiDocsHandlers() {
  const files = new FileCache();
  // The document never changes while the process runs: its bytes (some 800 kB), their ETag and their
  // gzip are made once, and a reference page that loads it again is answered 304.
  let document: Encoded | null = null;
  return {
    openApiDocument: async ({ header, deps }) => {
      if (!document) {
        const doc = openApiDocument();
        if (deps.validateResponses) routes.openApiDocument.response.parse(doc);
        document = encoded(new TextEncoder().encode(JSON.stringify(doc)), 9);
      }
      // Sent as the bytes kept, as the lineage is: the pipeline sends a Response as it is.
      return negotiated(document, header, { 'content-type': 'application/json' }) as never;
    },
    apiDocs: async () =>
      new Response(PAGE, {
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': API_DOCS_CSP },
      }),
    apiDocsScript: async ({ header }) => {
      const path = scriptPath();
      const file = path ? files.load(path) : null;
      if (!file) {
        throw new DomainError(
          'unavailable',
          'the API reference script is missing: build the API (npm run build -w @outpost/api)',
        );
      }
      return negotiated(file.bytes, header, {
        'content-type': 'text/javascript; charset=utf-8',
        'content-security-policy': API_DOCS_CSP,
      });
    },
  } satisfies Pick<Handlers, 'openApiDocument' | 'apiDocs' | 'apiDocsScript'>;
}
