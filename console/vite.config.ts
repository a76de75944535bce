/**
 * The console's build: a static bundle under dist/, served at /console/ (by the local gateway, and by
 * CloudFront from the console bucket), so every asset URL starts with /console/. The API is on the same
 * origin at the root, so the dev server proxies everything else to a running local stack.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // One small entry chunk; the CSP allows no inline script, and Vite emits none.
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { '^/(?!console/|@|src/|node_modules/).*': process.env.API_URL ?? 'http://127.0.0.1:8080' },
  },
});
