import { DEFAULT_PORT } from '@outpost/sdk/contracts';
import { defineConfig } from 'vite';

// JSX is compiled by Vite's own transformer with the automatic runtime; no plugin is needed.
export default defineConfig({
  base: './',
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
  },
});
