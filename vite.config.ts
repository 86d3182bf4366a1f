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
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const crossOriginIsolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react()],
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
