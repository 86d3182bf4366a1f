// Entry point: read the URL options, start the worker once, load the pack, render.
//
// URL options: ?backend=auto|webgpu|wasm (default auto), ?pack=<base URL of a model pack>.

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { requestPackLoad } from './components/PackStatus/pack-consent';
import { DEFAULT_PACK_URL, useStore } from './store';
import { createClient, type SoundstepClient } from './worker/client';
import { openHistory } from './history';
import { BACKEND_PREFERENCES, type BackendPreference } from './worker/protocol';
// the page's styles, in cascade order (layout last: it arranges what the others style)
import './styles/base.css';
import './styles/controls.css';
import './styles/results.css';
import './styles/compare.css';
import './styles/pack.css';
import './styles/layout.css';

declare global {
  interface Window {
    /** test and debugging hook: the worker client and the store */
    __soundstep?: { client: SoundstepClient; getState: typeof useStore.getState };
  }
}

const params = new URLSearchParams(location.search);
const backendParam = params.get('backend');
const backend: BackendPreference = BACKEND_PREFERENCES.includes(backendParam as BackendPreference)
  ? (backendParam as BackendPreference)
  : 'auto';
// the worker lives at another URL: hand it an absolute pack URL, ending in '/'
const packParam = params.get('pack') ?? `${import.meta.env.BASE_URL}${DEFAULT_PACK_URL}`;
const packUrl = new URL(packParam.endsWith('/') ? packParam : `${packParam}/`, document.baseURI).href;

const worker = new Worker(new URL('./worker/generate.worker.ts', import.meta.url), {
  type: 'module',
  name: 'soundstep-generate',
});
const client = createClient(worker);
// a pack from another site waits for the user's consent (its host and size are shown first)
void requestPackLoad(packUrl, (url) => client.load(url, backend));
// the results of earlier visits (IndexedDB); without it results last until the page is left
openHistory()
  .then((history) => client.attachHistory(history))
  .catch((e: unknown) =>
    useStore.getState().historyUnavailable(`This browser’s storage is unavailable (${e instanceof Error ? e.message : String(e)}); results are kept until you leave the page.`),
  );
window.__soundstep = { client, getState: useStore.getState };

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App client={client} />
  </StrictMode>,
);
