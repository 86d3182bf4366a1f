// Peak memory of downloading one pack file of N bytes through the loader's real path (fetch with
// a streamed body, size and SHA-256 check, the write to the cache), in Node's fetch, Response and
// WebCrypto, which follow the same specs as the browser's (a copy of a BufferSource body, a copy of
// digest's input). The cache stand-in reads the written body chunk by chunk and drops it, as
// Cache Storage streams it to disk.
// Usage: node --expose-gc --import tsx src/cli/measure-download-memory.ts [MB]   (default 300)
// It serves the file from a child process (so the server's bytes are not counted) and prints the
// peak resident memory above the level before the download (getrusage maxRSS).

import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import type { Manifest } from '../runtime/manifest';
import { httpFetchFile, loadPackFiles } from '../runtime/pack';
import { packFileCache, type CacheLike } from '../runtime/pack-cache';

const CHUNK = 2 ** 20;
/** the 1 MiB chunk the file repeats (not zeros, so that nothing can compress it) */
const pattern = (): Buffer => Buffer.from(Array.from({ length: CHUNK }, (_, i) => (i * 2654435761) >>> 24));

/** Child: serve `mb` MiB at '/big' without holding it, and send the port and SHA-256. */
function serve(mb: number): void {
  const chunk = pattern();
  const hash = createHash('sha256');
  for (let i = 0; i < mb; i++) hash.update(chunk);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(mb * CHUNK) });
    let sent = 0;
    const pump = (): void => {
      while (sent < mb && res.write(chunk)) sent += 1;
      if (sent < mb) res.once('drain', () => { sent += 1; pump(); });
      else res.end();
    };
    pump();
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port, sha256: hash.digest('hex') }));
}

/** A Cache that reads each written body to its end and keeps nothing (Cache Storage writes to disk). */
const drainCache: CacheLike = {
  match: () => Promise.resolve(undefined),
  put: async (_k, r) => {
    const reader = r.body?.getReader();
    if (reader) for (let c = await reader.read(); !c.done; c = await reader.read());
  },
  delete: () => Promise.resolve(true),
  keys: () => Promise.resolve([]),
};

const mib = (kb: number): string => (kb / 1024).toFixed(0);

async function measure(mb: number): Promise<void> {
  const child = fork(process.argv[1] ?? '', ['--serve', String(mb)], { execArgv: ['--import', 'tsx'] });
  const { port, sha256 } = await new Promise<{ port: number; sha256: string }>((resolve) => child.once('message', resolve as never));
  const manifest = { files: { big: { bytes: mb * CHUNK, sha256 } } } as unknown as Manifest;
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.resourceUsage().maxRSS;
  const rssBefore = process.memoryUsage().rss / 1024;
  const t0 = performance.now();
  const files = await loadPackFiles(httpFetchFile(`http://127.0.0.1:${port}/`), manifest, {
    cache: packFileCache(drainCache, `http://127.0.0.1:${port}/`),
  });
  const seconds = (performance.now() - t0) / 1000;
  const peak = process.resourceUsage().maxRSS;
  child.kill();
  const n = files.get('big')?.length ?? 0;
  console.log(
    `file ${mb} MiB (${n} bytes): peak RSS ${mib(peak)} MiB, ${mib(peak - Math.max(before, rssBefore))} MiB above the level before ` +
      `(${((peak - Math.max(before, rssBefore)) / 1024 / mb).toFixed(2)} x N), ${seconds.toFixed(1)} s`,
  );
}

if (process.argv[2] === '--serve') serve(Number(process.argv[3]));
else await measure(Number(process.argv[2] ?? 300));
