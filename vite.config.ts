// Vite config for the soundstep web app.
// Usage: `npm run dev` (dev server) or `npx vite build && npx vite preview` (production build).
//
// Both servers send COOP/COEP so the page is `crossOriginIsolated`: onnxruntime-web's WASM
// backend needs SharedArrayBuffer for its threads (ENVIRONMENT.md).
//
// How onnxruntime-web finds its files: src/worker/ort-loader.ts picks one build per backend
// ('onnxruntime-web/wasm' or 'onnxruntime-web/webgpu') and sets `ort.env.wasm.wasmPaths`
// from a `?url` import of that build's .wasm, an ordinary Vite asset in dev and in the build.
// The package is excluded from dependency pre-bundling so that its `import.meta.url`
// (which its WASM threads use to start themselves as module workers) keeps pointing at
// the real module file.
//
// The offline app (vite-plugin-pwa, Workbox's generateSW): the production build gets a service
// worker that precaches the app shell and ORT's .wasm, and a web app manifest (installable).
// The model packs are not precached: the app keeps them in its own Cache Storage (pack-cache.ts).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

const crossOriginIsolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [
    react(),
    VitePWA({
      registerType: 'autoUpdate',
      // a <script src="registerSW.js">: nothing inline, so the CSP's script-src 'self' holds
      injectRegister: 'script',
      includeAssets: ['icon-192.png', 'icon-512.png'],
      manifest: {
        name: 'soundstep: text to audio in your browser',
        short_name: 'soundstep',
        description: 'Type a sound, hear it: few-step latent diffusion running on this device.',
        start_url: '.',
        scope: '.',
        display: 'standalone',
        background_color: '#181c28',
        theme_color: '#181c28',
        icons: [
          { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,wasm,png,webmanifest}'],
        // the packs stay out of the precache (the app caches the pack it loads, keyed by SHA-256)
        globIgnores: ['models/**'],
        // ORT's two .wasm builds are ~25 MB each
        maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
        navigateFallback: 'index.html',
        navigateFallbackDenylist: [/^\/models\//],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
  server: { host: '127.0.0.1', port: 5173, headers: crossOriginIsolation },
  preview: { host: '127.0.0.1', port: 4173, headers: crossOriginIsolation },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // the ORT .wasm is ~28 MB: never inline it, and do not warn about the ORT chunk size
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
  },
});
