// Streaming a pack file: read into one buffer of the manifest's size, hashed chunk by chunk as it
// arrives, and written to the cache in slices. Real HTTP (a Node server on 127.0.0.1, Node's fetch).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackError } from './errors';
import { validateManifest, type Manifest } from './manifest';
import { httpFetchFile, loadPackFiles, type PackFileCache } from './pack';
import { sliceStream, WRITE_SLICE } from './pack-cache';
import { COPY_LIMIT, sha256Hex, sha256Stream } from './sha256';
import { readPackJson } from '../testing/pack';

/** Deterministic bytes (not all zero, so a hash of the wrong slice differs). */
function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 2654435761) >>> 24;
  return out;
}

const BODY = pattern(5 * 2 ** 20 + 123);
/** over COPY_LIMIT: the loader hashes it as it streams in */
const BIG = pattern(COPY_LIMIT + 1000);
let server: Server;
let base: string;
beforeAll(async () => {
  // '/long' sends one byte more than BODY; chunks of 64 kB, as a network would
  server = createServer((req, res) => {
    const body = req.url === '/long' ? new Uint8Array([...BODY.subarray(0, 1000), 7]) : req.url === '/big' ? BIG : BODY;
    res.writeHead(200, { 'content-length': String(body.length) });
    for (let at = 0; at < body.length; at += 65536) res.write(body.subarray(at, at + 65536));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The shipped manifest with `file` of `bytes` and `sha256` in place of its files. */
function manifestWith(file: string, bytes: number, sha256: string): Manifest {
  const m = structuredClone(validateManifest(readPackJson('manifest.json')));
  m.files = { [file]: { bytes, sha256 } };
  return m;
}

/** A cache that stores nothing and records the names written to it. */
function recordingCache(): { written: string[]; cache: PackFileCache } {
  const written: string[] = [];
  const cache: PackFileCache = {
    readFile: async () => null,
    writeFile: async (f) => void written.push(f),
    deleteFile: async () => undefined,
    readManifest: async () => null,
    writeManifest: async () => undefined,
  };
  return { written, cache };
}

describe('streamed download', () => {
  it('fills one buffer of the expected size and hands every chunk to the hash, in order', async () => {
    const hash = sha256Stream();
    let chunks = 0;
    const bytes = await httpFetchFile(base)('body', undefined, undefined, {
      expectedBytes: BODY.length,
      onChunk: (c) => {
        chunks += 1;
        hash.update(c);
      },
    });
    expect(bytes.length).toBe(BODY.length);
    expect(bytes.buffer.byteLength).toBe(BODY.length); // one buffer, not a join of chunks
    expect(Buffer.from(bytes).equals(Buffer.from(BODY))).toBe(true);
    expect(chunks).toBeGreaterThan(1);
    expect(hash.bytes).toBe(BODY.length);
    expect(hash.hex()).toBe(await sha256Hex(BODY));
  });

  it('refuses a body longer than manifest.json says as it arrives', async () => {
    const fetchLong = httpFetchFile(base)('long', undefined, undefined, { expectedBytes: 1000, onChunk: () => undefined });
    await expect(fetchLong).rejects.toThrow('long: size mismatch: manifest.json says 1000 bytes, the server sends 1001. Rebuild or re-upload the pack');
  });

  it('a hash mismatch is caught and nothing is cached', async () => {
    const { written, cache } = recordingCache();
    const m = manifestWith('body', BODY.length, 'e'.repeat(64));
    const load = loadPackFiles(httpFetchFile(base), m, { cache });
    await expect(load).rejects.toBeInstanceOf(PackError);
    await expect(load).rejects.toThrow(`body: SHA-256 mismatch: manifest.json says ${'e'.repeat(64)}, the file has ${await sha256Hex(BODY)}`);
    expect(written).toEqual([]);
    // the right hash: verified from the streamed chunks, then cached
    await loadPackFiles(httpFetchFile(base), manifestWith('body', BODY.length, await sha256Hex(BODY)), { cache });
    expect(written).toEqual(['body']);
  });
});

describe('a file over COPY_LIMIT, hashed as it streams in', () => {
  it('a hash mismatch is caught and nothing is cached; the right hash is verified and cached', async () => {
    const { written, cache } = recordingCache();
    const sha = await sha256Hex(BIG);
    await expect(loadPackFiles(httpFetchFile(base), manifestWith('big', BIG.length, 'f'.repeat(64)), { cache })).rejects.toThrow(
      `big: SHA-256 mismatch: manifest.json says ${'f'.repeat(64)}, the file has ${sha}`,
    );
    expect(written).toEqual([]);
    const files = await loadPackFiles(httpFetchFile(base), manifestWith('big', BIG.length, sha), { cache });
    expect(files.get('big')?.length).toBe(BIG.length);
    expect(written).toEqual(['big']);
  });
});

describe('hashing and cache writes without a second copy', () => {
  it('sha256Hex above COPY_LIMIT (incremental) equals WebCrypto', async () => {
    const big = pattern(COPY_LIMIT + 5);
    const web = Buffer.from(await crypto.subtle.digest('SHA-256', big as Uint8Array<ArrayBuffer>)).toString('hex');
    expect(await sha256Hex(big)).toBe(web);
  });

  it('sliceStream hands the bytes over in WRITE_SLICE pieces, unchanged', async () => {
    const sizes: number[] = [];
    const reader = sliceStream(BODY).getReader();
    const parts: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      sizes.push(r.value.length);
      parts.push(r.value);
    }
    expect(sizes.slice(0, 5)).toEqual([WRITE_SLICE, WRITE_SLICE, WRITE_SLICE, WRITE_SLICE, WRITE_SLICE]);
    expect(sizes.at(-1)).toBe(123);
    expect(Buffer.concat(parts).equals(Buffer.from(BODY))).toBe(true);
  });
});
