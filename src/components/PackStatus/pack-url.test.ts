import { describe, expect, it } from 'vitest';
import { formatBytes, parsePackUrl, percent } from './pack-url';

const PAGE = 'http://127.0.0.1:4391/?backend=wasm';

describe('parsePackUrl', () => {
  it('resolves a pack folder URL, adding the trailing slash', () => {
    expect(parsePackUrl(' https://cdn.example.org/packs/tango ', PAGE)).toEqual({
      ok: true,
      url: 'https://cdn.example.org/packs/tango/',
    });
    expect(parsePackUrl('models/soundstep-small/', PAGE)).toEqual({ ok: true, url: 'http://127.0.0.1:4391/models/soundstep-small/' });
  });

  it('takes the URL of manifest.json as its folder, and drops a #fragment', () => {
    expect(parsePackUrl('https://cdn.example.org/p/manifest.json#x', PAGE)).toEqual({ ok: true, url: 'https://cdn.example.org/p/' });
  });

  it('says what is wrong with an empty field, a non-URL and a non-http scheme', () => {
    const empty = parsePackUrl('  ', PAGE);
    expect(empty.ok).toBe(false);
    expect(!empty.ok && empty.error).toMatch(/^Enter the URL of a model pack folder/);
    const bad = parsePackUrl('http://[::1', PAGE);
    expect(!bad.ok && bad.error).toMatch(/is not a URL\. Enter an address like https:\/\//);
    const ftp = parsePackUrl('ftp://example.org/pack/', PAGE);
    expect(!ftp.ok && ftp.error).toMatch(/^Only http and https URLs can be loaded \(this one is ftp:\)/);
  });
});

describe('formatting', () => {
  it('formats bytes and whole percents', () => {
    expect([formatBytes(350), formatBytes(527_292), formatBytes(36_800_000), formatBytes(3.2e9)]).toEqual([
      '350 B',
      '527 kB',
      '36.8 MB',
      '3.20 GB',
    ]);
    expect([percent(0, 0), percent(1, 3), percent(5, 5), percent(7, 5)]).toEqual([0, 33, 100, 100]);
  });
});
