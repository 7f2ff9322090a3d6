import { defineConfig } from 'vite';

// Everything is bundled into dist/web (no CDN, no request leaving the machine); the backend serves it at /.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: 'dist/web',
    emptyOutDir: true,
    // The strict CSP allows no inline script: no modulepreload polyfill, no inlined assets.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
