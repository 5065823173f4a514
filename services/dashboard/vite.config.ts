import { defineConfig } from 'vite';

// JSX is compiled by Vite's own transformer with the automatic runtime; no plugin is needed.
export default defineConfig({
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Inlined assets would become data: URLs, which a `default-src 'self'` policy refuses.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
  },
});
