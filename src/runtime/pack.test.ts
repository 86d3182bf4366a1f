import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackError } from './errors';
import type { Manifest } from './manifest';
import { fetchManifest, httpFetchFile, loadPackFiles, sha256Hex, type FetchFile, type FileEvent } from './pack';

const enc = new TextEncoder();

describe('sha256Hex', () => {
  it('matches the known digest of "abc"', async () => {
    expect(await sha256Hex(enc.encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

async function memoryPack(contents: Record<string, string>): Promise<{ manifest: Manifest; fetchFile: FetchFile }> {
  const files: Manifest['files'] = {};
  for (const [path, text] of Object.entries(contents)) {
    files[path] = { bytes: enc.encode(text).length, sha256: await sha256Hex(enc.encode(text)) };
  }
  const store = new Map(Object.entries(contents).map(([k, v]) => [k, enc.encode(v)]));
  const fetchFile: FetchFile = async (path, onProgress) => {
    const b = store.get(path);
    if (!b) throw new Error(`no such file ${path}`);
    onProgress?.(b.length, b.length);
    return b;
  };
  return { manifest: { files } as Manifest, fetchFile };
}

describe('loadPackFiles', () => {
  it('returns every file, verified, with progress per file', async () => {
    const { manifest, fetchFile } = await memoryPack({ 'a.onnx': 'hello', 'dir/b.json': '{"x":1}' });
    const events: FileEvent[] = [];
    const out = await loadPackFiles(fetchFile, manifest, (e) => events.push(e));
    expect([...out.keys()]).toEqual(['a.onnx', 'dir/b.json']);
    expect(new TextDecoder().decode(out.get('a.onnx'))).toBe('hello');
    expect(events.filter((e) => e.done).map((e) => e.file)).toEqual(['a.onnx', 'dir/b.json']);
    expect(events[0]).toEqual({ file: 'a.onnx', loaded: 0, total: 5, done: false });
  });

  it('refuses a wrong size, a wrong hash and a missing file, naming the file', async () => {
    const { manifest, fetchFile } = await memoryPack({ 'a.onnx': 'hello', 'b.onnx': 'world' });
    const size = structuredClone(manifest);
    size.files['b.onnx']!.bytes = 4;
    await expect(loadPackFiles(fetchFile, size)).rejects.toThrow(/^b\.onnx: size mismatch: manifest\.json says 4 bytes, the file has 5$/);
    const hash = structuredClone(manifest);
    hash.files['a.onnx']!.sha256 = '0'.repeat(64);
    const e = await loadPackFiles(fetchFile, hash).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PackError);
    expect((e as PackError).file).toBe('a.onnx');
    expect((e as PackError).message).toMatch(/SHA-256 mismatch/);
    const missing = structuredClone(manifest);
    missing.files['c.onnx'] = { bytes: 1, sha256: '0'.repeat(64) };
    await expect(loadPackFiles(fetchFile, missing)).rejects.toMatchObject({ name: 'PackError', file: 'c.onnx' });
  });
});

describe('fetchManifest', () => {
  it('refuses a manifest that is not JSON or absent', async () => {
    const bad: FetchFile = async () => enc.encode('{ not json');
    await expect(fetchManifest(bad)).rejects.toThrow(/^manifest\.json: is not valid JSON/);
    const none: FetchFile = async () => {
      throw new Error('ENOENT');
    };
    await expect(fetchManifest(none)).rejects.toMatchObject({ file: 'manifest.json' });
  });
});

describe('httpFetchFile', () => {
  let server: Server;
  let base: string;
  const body = new Uint8Array(100_000).map((_, i) => i % 251);

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/pack/models/x.bin') {
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, 50_000));
        setTimeout(() => res.end(body.subarray(50_000)), 10);
      } else {
        res.writeHead(404, 'Not Found');
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pack`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('streams a file with progress', async () => {
    const progress: Array<[number, number]> = [];
    const got = await httpFetchFile(base)('models/x.bin', (l, t) => progress.push([l, t]));
    expect(got).toEqual(body);
    expect(progress.at(-1)).toEqual([body.length, body.length]);
    expect(progress.length).toBeGreaterThan(2);
  });

  it('says which file is not found on a 404', async () => {
    const e = await httpFetchFile(`${base}/`)('vocoder.onnx').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PackError);
    expect((e as PackError).file).toBe('vocoder.onnx');
    expect((e as PackError).message).toMatch(/^vocoder\.onnx: not found: HTTP 404 .* at http:\/\/127\.0\.0\.1:\d+\/pack\/vocoder\.onnx$/);
  });
});
