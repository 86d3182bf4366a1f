// bench.html: runs the bench worker with the URL's settings and shows its table; the result is
// also window.__bench for scripts/bench-browser.ts.
// URL: bench.html?backend=wasm|webgpu&threads=2&runs=3&teacher-steps=200&precision=auto|float32|int8|float16
//      &pack=models/soundstep-small-next/

import { parsePrecision } from '../runtime/graphs';
import { DEFAULT_PACK_URL } from '../store/initialState';
import type { BenchReply, BenchRequest } from './bench-protocol';

declare global {
  interface Window {
    __bench?: BenchReply;
  }
}

const params = new URLSearchParams(location.search);
const positive = (name: string, fallback: number): number => {
  const n = Number(params.get(name) ?? fallback);
  return Number.isInteger(n) && n >= 1 ? n : fallback;
};
const precision = parsePrecision(params.get('precision') ?? 'auto') ?? 'auto';
const request: BenchRequest = {
  precision,
  backend: params.get('backend') === 'webgpu' ? 'webgpu' : 'wasm',
  threads: positive('threads', 2),
  runs: positive('runs', 3),
  ...(params.has('teacher-steps') ? { teacherSteps: [positive('teacher-steps', 200)] } : {}),
  packUrl: new URL(params.get('pack') ?? DEFAULT_PACK_URL, location.href).href,
};
const out = document.getElementById('bench');
const show = (text: string): void => {
  if (out) out.textContent = text;
};

const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
worker.addEventListener('message', (e: MessageEvent<BenchReply>) => {
  const r = e.data;
  if (r.type === 'progress') {
    show(`${out?.textContent ?? ''}\n${r.text}`);
    console.log(`bench: ${r.text}`);
    return;
  }
  window.__bench = r;
  show(r.type === 'done' ? `${r.device}\n${r.table}` : r.type === 'skipped' ? r.reason : `error: ${r.message}`);
  worker.terminate();
});
// a worker that fails to load or throws outside bench() would otherwise leave the page waiting
worker.addEventListener('error', (e) => {
  window.__bench = { type: 'error', message: `the bench worker failed: ${e.message || 'it could not be loaded'}` };
  show(window.__bench.message);
});
worker.postMessage(request);
