// The consent step before a pack from another origin is downloaded (pack-consent.ts), on the
// shipped pack's real manifest.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { validateManifest } from '../../runtime/manifest';
import { acceptOffer, declineOffer, needsConsent, packOffer, requestPackLoad, useConsent } from './pack-consent';

const manifest = validateManifest(JSON.parse(readFileSync('public/models/soundstep-small/manifest.json', 'utf8')));
const SHIPPED_BYTES = Object.values(manifest.files).reduce((n, e) => n + e.bytes, 0);
const PAGE = 'http://127.0.0.1:4391';
const REMOTE = 'https://packs.example.org:8443/soundstep/';

// the page's origin, as location.origin reads it in the browser
Object.defineProperty(globalThis, 'location', { value: new URL(`${PAGE}/?backend=wasm`), configurable: true });

afterEach(() => declineOffer(null));

describe('needsConsent and packOffer', () => {
  it('asks for another origin only (host, port or scheme)', () => {
    expect(needsConsent(`${PAGE}/models/soundstep-small/`, PAGE)).toBe(false);
    expect(needsConsent('http://127.0.0.1:4392/models/x/', PAGE)).toBe(true);
    expect(needsConsent('https://127.0.0.1:4391/models/x/', PAGE)).toBe(true);
    expect(needsConsent(REMOTE, PAGE)).toBe(true);
  });

  it('offers the host with its port and the total of manifest.json’s file sizes', () => {
    expect(packOffer(REMOTE, manifest)).toEqual({
      url: REMOTE,
      host: 'packs.example.org:8443',
      name: manifest.name,
      files: Object.keys(manifest.files).length,
      bytes: SHIPPED_BYTES,
    });
    expect(SHIPPED_BYTES).toBeGreaterThan(20e6);
  });
});

describe('requestPackLoad', () => {
  it('loads a pack on the page’s origin at once, without reading its manifest here', async () => {
    const loads: string[] = [];
    const reads: string[] = [];
    await requestPackLoad(`${PAGE}/models/soundstep-small/`, (u) => loads.push(u), (u) => (reads.push(u), Promise.resolve(manifest)));
    expect(loads).toEqual([`${PAGE}/models/soundstep-small/`]);
    expect(reads).toEqual([]);
    expect(useConsent.getState()).toEqual({ checking: null, offer: null });
  });

  it('waits for acceptOffer before loading a pack from another origin', async () => {
    const loads: string[] = [];
    await requestPackLoad(REMOTE, (u) => loads.push(u), () => Promise.resolve(manifest));
    expect(loads).toEqual([]);
    expect(useConsent.getState().offer?.bytes).toBe(SHIPPED_BYTES);
    acceptOffer();
    expect(loads).toEqual([REMOTE]);
    expect(useConsent.getState().offer).toBeNull();
  });

  it('loads nothing when declined, and runs the fallback', async () => {
    const loads: string[] = [];
    await requestPackLoad(REMOTE, (u) => loads.push(u), () => Promise.resolve(manifest));
    declineOffer(() => loads.push('shipped'));
    acceptOffer();
    expect(loads).toEqual(['shipped']);
  });

  it('hands the load to the worker when manifest.json cannot be read here (it says why, or uses its cache)', async () => {
    const loads: string[] = [];
    await requestPackLoad(REMOTE, (u) => loads.push(u), () => Promise.reject(new Error('offline')));
    expect(loads).toEqual([REMOTE]);
    expect(useConsent.getState()).toEqual({ checking: null, offer: null });
  });

  it('a later request replaces one still reading its manifest', async () => {
    const loads: string[] = [];
    let release: (() => void) | undefined;
    const first = requestPackLoad(REMOTE, (u) => loads.push(u), () => new Promise((r) => (release = () => r(manifest))));
    expect(useConsent.getState().checking).toBe(REMOTE);
    await requestPackLoad(`${PAGE}/models/soundstep-small/`, (u) => loads.push(u));
    release?.();
    await first;
    expect(loads).toEqual([`${PAGE}/models/soundstep-small/`]);
    expect(useConsent.getState().offer).toBeNull();
  });
});
