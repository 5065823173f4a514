import { builtinModules } from 'node:module';
import { DEFAULT_PORT } from '@outpost/sdk/contracts';
import { defineConfig, type Plugin } from 'vite';

const NODE_BUILTINS = new Set(builtinModules);

/**
 * Fails the build when any module of the bundle imports a Node built-in: the dashboard runs in a
 * browser, where Vite would only stub it out and the page would break when the code runs.
 */
const noNodeBuiltins: Plugin = {
  name: 'outpost:no-node-builtins',
  enforce: 'pre',
  resolveId(id, importer) {
    if (id.startsWith('node:') || NODE_BUILTINS.has(id) || NODE_BUILTINS.has(id.split('/')[0] ?? '')) {
      this.error(`${importer ?? 'the dashboard'} imports the Node built-in "${id}", which a browser does not have`);
    }
    return null;
  },
};

// JSX is compiled by Vite's own transformer with the automatic runtime; no plugin is needed.
export default defineConfig({
  base: './',
  plugins: [noNodeBuiltins],
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  server: {
    // `npm run dev` serves the page from Vite and forwards the API, so cookies stay same-origin
    proxy: { '/api': { target: process.env.OUTPOST_API_URL ?? `http://127.0.0.1:${DEFAULT_PORT}`, changeOrigin: false } },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Inlined assets would become data: URLs, which a `default-src 'self'` policy refuses.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
    rolldownOptions: {
      // Rolldown's timing hint (printed when a build passes 3 s) fires on any busy machine and names
      // no fault; the build-warnings test fails on every line a clean build does not print.
      checks: { bundlerTimings: false },
      onwarn(warning, warn) {
        // @xyflow/react starts with "use client", a React Server Components marker that means nothing
        // in a client-only bundle; dropping it is correct, so only that notice is silenced.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE' && warning.message.includes('"use client"')) return;
        warn(warning);
      },
    },
  },
});
