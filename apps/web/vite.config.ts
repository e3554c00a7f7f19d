import { defineConfig } from 'vite';

// A static build served by the Linkforge server: index.html at `/`, fingerprinted files under
// `/assets/`. Preact's automatic JSX runtime keeps the bundle small.
export default defineConfig({
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: true,
  },
});
