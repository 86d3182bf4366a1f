// pack-check.html: runs the pack-check worker with the URL's settings; the reply is
// window.__packCheck for src/cli/pack-check-browser.ts.
// URL: pack-check.html?backend=wasm|webgpu&threads=2&frames=16&pack=models/soundstep-small-next/

import { DEFAULT_PACK_URL } from '../store/initialState';
import type { PackCheckReply, PackCheckRequest } from './pack-check-protocol';

declare global {
  interface Window {
    __packCheck?: PackCheckReply;
  }
}

const params = new URLSearchParams(location.search);
const request: PackCheckRequest = {
  backend: params.get('backend') === 'webgpu' ? 'webgpu' : 'wasm',
  threads: Number(params.get('threads') ?? 2),
  frames: Number(params.get('frames') ?? 0),
  packUrl: new URL(params.get('pack') ?? DEFAULT_PACK_URL, location.href).href,
};
const out = document.getElementById('check');
const worker = new Worker(new URL('./pack-check.worker.ts', import.meta.url), { type: 'module' });
worker.addEventListener('message', (e: MessageEvent<PackCheckReply>) => {
  const r = e.data;
  if (r.type === 'progress') {
    if (out) out.textContent = `${out.textContent ?? ''}\n${r.text}`;
    console.log(`check: ${r.text}`);
    return;
  }
  window.__packCheck = r;
  if (out) out.textContent = r.type === 'done' ? `done on ${r.device}` : `error: ${r.message}`;
  worker.terminate();
});
worker.postMessage(request);
