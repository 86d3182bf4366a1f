// Pack URL safety: every unsafe kind of path is refused by the schema's pathRule, with a message
// that names the field and says why; and a file URL never leaves the pack folder.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { manifestRefusal } from '../testing/manifest-refusal';
import { PackError } from './errors';
import { validateManifest } from './manifest';
import { httpFetchFile } from './pack';
import { pathProblem, resolveInsidePack } from './pack-paths';

interface RawManifest {
  vocoder: { file: string };
  files: Record<string, unknown>;
}
const shipped = (): RawManifest => JSON.parse(readFileSync('public/models/soundstep-small/manifest.json', 'utf8')) as RawManifest;

/** The message validateManifest gives when vocoder.file is `path` (and `files` lists it). */
function refusal(path: string): string {
  const m = shipped();
  m.files[path] = m.files[m.vocoder.file];
  m.vocoder.file = path;
  return manifestRefusal(m, path).problem;
}

describe('the pathRule refuses, naming the field and the reason', () => {
  const ENCODED = 'it is percent-encoded ("%2e%2e/" or "..%2f" becomes "../" once decoded, a file outside the pack folder): write the plain file name';

  it('percent-encoded traversal, lower case: %2e%2e/', () => {
    expect(refusal('%2e%2e/vocoder.onnx')).toBe(`vocoder.file must be a relative path inside the pack (got "%2e%2e/vocoder.onnx"): ${ENCODED}`);
  });

  it('percent-encoded traversal, upper case with an encoded slash: %2E%2E%2F', () => {
    expect(refusal('%2E%2E%2Fsecret.onnx')).toBe(`vocoder.file must be a relative path inside the pack (got "%2E%2E%2Fsecret.onnx"): ${ENCODED}`);
  });

  it('dots with an encoded slash: ..%2f', () => {
    expect(refusal('..%2fsecret.onnx')).toBe(`vocoder.file must be a relative path inside the pack (got "..%2fsecret.onnx"): ${ENCODED}`);
  });

  it('an absolute URL', () => {
    expect(refusal('https://evil.example/vocoder.onnx')).toBe(
      'vocoder.file must be a relative path inside the pack (got "https://evil.example/vocoder.onnx"): it is an absolute URL: every file must lie in the pack folder',
    );
  });

  it('a protocol-relative URL: //host', () => {
    expect(refusal('//evil.example/vocoder.onnx')).toBe(
      'vocoder.file must be a relative path inside the pack (got "//evil.example/vocoder.onnx"): it starts with "//", which a browser reads as the address of another host',
    );
  });

  it('a backslash', () => {
    expect(refusal('..\\vocoder.onnx')).toBe(
      'vocoder.file must be a relative path inside the pack (got "..\\\\vocoder.onnx"): it contains a backslash, which browsers read as "/": use "/" between folders',
    );
  });

  it('a files key names itself as the field', () => {
    const m = shipped();
    m.files['%2e%2e/x.onnx'] = { bytes: 1, sha256: 'a'.repeat(64) };
    expect(() => validateManifest(m)).toThrow(`files["%2e%2e/x.onnx"] must be a relative path inside the pack: ${ENCODED}`);
  });
});

describe('pathProblem', () => {
  it('accepts the shipped pack’s paths and refuses the other kinds', () => {
    expect(Object.keys(shipped().files).map(pathProblem).filter((p) => p !== null)).toEqual([]);
    expect(pathProblem('/etc/passwd')).toBe('it starts with "/", the root of the server, outside the pack folder');
    expect(pathProblem('a/../b')).toBe('it has a ".." part, which climbs out of the pack folder');
    expect(pathProblem('a?b=1')).toBe('it contains "?" or "#", which a URL reads as a query or a fragment');
  });
});

describe('resolveInsidePack: the URL a file is fetched from stays below the pack folder', () => {
  const BASE = 'https://packs.example/p/soundstep/';

  it('resolves ordinary paths below the folder', () => {
    expect(resolveInsidePack(BASE, 'denoisers/snr+1-25.onnx')).toBe('https://packs.example/p/soundstep/denoisers/snr+1-25.onnx');
  });

  it('refuses what URL parsing turns into another folder or host', () => {
    // WHATWG URL parsing reads "%2e%2e" as ".."
    expect(() => resolveInsidePack(BASE, '%2e%2e/x.onnx')).toThrow('resolves to https://packs.example/p/x.onnx, outside the pack folder https://packs.example/p/soundstep/');
    expect(() => resolveInsidePack(BASE, '//evil.example/x')).toThrow('resolves to https://evil.example/x, outside the pack folder');
    expect(() => resolveInsidePack(BASE, '..\\x')).toThrow('resolves to https://packs.example/p/x, outside the pack folder');
    expect(() => resolveInsidePack(BASE, 'x?y')).toThrow('resolves to https://packs.example/p/soundstep/x?y, outside the pack folder');
  });

  it('httpFetchFile refuses such a path before any request, naming the file', async () => {
    const fetchFile = httpFetchFile('https://packs.example/p/soundstep/');
    const error = await fetchFile('%2E%2E/vocoder.onnx').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PackError);
    expect((error as PackError).file).toBe('%2E%2E/vocoder.onnx');
    expect((error as PackError).problem).toBe(
      "resolves to https://packs.example/p/vocoder.onnx, outside the pack folder https://packs.example/p/soundstep/: the pack's manifest names a file outside its folder, so it is refused",
    );
  });
});
