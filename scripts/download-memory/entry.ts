// worker: load one big file through the loader's path into Cache Storage
import { httpFetchFile, loadPackFiles } from '../../src/runtime/pack';
import { packFileCache } from '../../src/runtime/pack-cache';
self.onmessage = async (e: MessageEvent<{ bytes: number; sha256: string }>) => {
  const base = new URL('/', self.location.href).href;
  await caches.delete('m');
  const cache = await caches.open('m');
  const t0 = performance.now();
  const manifest = { files: { big: e.data } } as never;
  const files = await loadPackFiles(httpFetchFile(base), manifest, { cache: packFileCache(cache as never, base) });
  const n = files.get('big')?.length;
  const keys = (await cache.keys()).length;
  (self as unknown as Worker).postMessage({ n, keys, ms: performance.now() - t0 });
};
