// A pack from another origin is not downloaded until the user agrees: its manifest.json is
// read first (small), and the page shows the pack's host and total size with Download and
// Cancel. A pack on the page's own origin loads at once. When manifest.json cannot be read here
// (offline, no CORS, not a pack) the load goes on to the worker, which reads it again and either
// says what is wrong, naming the file, or loads the copy it cached when the user agreed before.

import { create } from 'zustand';
import { httpFetchFile, fetchManifest } from '../../runtime/pack';
import type { Manifest } from '../../runtime/pack-types';

/** What the user is asked to agree to. */
export interface PackOffer {
  url: string;
  host: string;
  name: string;
  files: number;
  /** the sum of manifest.json's file sizes */
  bytes: number;
}

export interface ConsentState {
  /** the URL whose manifest.json is being read before asking */
  checking: string | null;
  offer: PackOffer | null;
}

export const useConsent = create<ConsentState>(() => ({ checking: null, offer: null }));

/** True when `url` is on another origin than the page (`pageOrigin`). */
export function needsConsent(url: string, pageOrigin: string): boolean {
  return new URL(url).origin !== pageOrigin;
}

/** The offer for the pack at `url` with this manifest. */
export function packOffer(url: string, manifest: Manifest): PackOffer {
  const entries = Object.values(manifest.files);
  return {
    url,
    host: new URL(url).host,
    name: manifest.name,
    files: entries.length,
    bytes: entries.reduce((n, e) => n + e.bytes, 0),
  };
}

type Load = (url: string) => void;

let latest = 0;
let pendingLoad: Load | null = null;

/**
 * Load the pack at `url` (absolute) with `load`, at once when it is on the page's origin, else
 * once the user accepts the offer (acceptOffer). A later request replaces an earlier one.
 */
export async function requestPackLoad(url: string, load: Load, readManifest = (u: string) => fetchManifest(httpFetchFile(u))): Promise<void> {
  const mine = ++latest;
  if (!needsConsent(url, location.origin)) {
    pendingLoad = null;
    useConsent.setState({ checking: null, offer: null });
    load(url);
    return;
  }
  pendingLoad = load;
  useConsent.setState({ checking: url, offer: null });
  let manifest: Manifest;
  try {
    manifest = await readManifest(url);
  } catch {
    if (mine !== latest) return;
    pendingLoad = null;
    useConsent.setState({ checking: null, offer: null });
    load(url);
    return;
  }
  if (mine !== latest) return;
  useConsent.setState({ checking: null, offer: packOffer(url, manifest) });
}

/** The user agreed: download the offered pack. */
export function acceptOffer(): void {
  const { offer } = useConsent.getState();
  const load = pendingLoad;
  latest++;
  pendingLoad = null;
  useConsent.setState({ checking: null, offer: null });
  if (offer && load) load(offer.url);
}

/** The user declined: nothing is downloaded; `fallback` (the shipped pack) loads when no pack is in use. */
export function declineOffer(fallback: (() => void) | null): void {
  latest++;
  pendingLoad = null;
  useConsent.setState({ checking: null, offer: null });
  fallback?.();
}
