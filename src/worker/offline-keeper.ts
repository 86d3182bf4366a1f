// Keeping a pack for offline use. Before the loader stores a pack file in Cache Storage it checks
// the room the browser gives this site (navigator.storage.estimate()): a file that does not fit
// is not stored, and a store that fails is no longer swallowed. Either way loading goes on (the
// pack works online), and the ready reply says plainly whether the pack will be available
// offline, and if not, why and what to do.
//
// The estimate alone is not enough: Chromium reports a static quota (usage + 10 GiB, so that
// sites cannot fingerprint the disk; feature StaticStorageQuota) whatever the real limit is, so
// there the first sign of a full disk is the store's QuotaExceededError. That error gets the same
// "does not fit, free some space" answer as a failed estimate check.

import { formatBytes } from '../components/PackStatus/pack-url';
import type { FileEntry } from '../runtime/manifest';
import type { PackFileCache } from '../runtime/pack';

/** navigator.storage.estimate()'s answer (either field may be missing). */
export interface StorageEstimateLike {
  quota?: number;
  usage?: number;
}

/** Whether the loaded pack is in this browser's cache for offline use (ReadyReply.load.offline). */
export interface OfflineStatus {
  /** every file the pack loaded is kept in this browser */
  available: boolean;
  /** one or two sentences for the user: what happened and what to do */
  reason: string;
}

export interface OfflineKeeper {
  /** the cache to load through: reads as before; writes checked, and failures recorded */
  cache: PackFileCache | undefined;
  status(): OfflineStatus;
  /**
   * Store nothing from now on, for `reason` (the capacity check found before downloading that the
   * pack does not fit the storage left): better than filling the quota and failing halfway.
   */
  refuse(reason: string): void;
}

const AVAILABLE = 'Available offline: every file this pack loaded is kept in this browser.';
const NO_CACHE =
  'Not available offline: this browser gives the page no Cache Storage here (it needs https), so the pack is downloaded on every visit.';
const AFTER = 'It works online as it is; until then it is downloaded again on every visit.';

const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** Why `file` (`bytes` long) was not stored: it does not fit in the `free` bytes left of `quota`. */
export function noRoomReason(file: string, bytes: number, free: number, quota: number): string {
  return (
    `Not available offline: ${file} (${formatBytes(bytes)}) does not fit in the storage this browser gives this site ` +
    `(${formatBytes(Math.max(0, free))} free of ${formatBytes(quota)}). Free some space (Clear cache below, or other sites' data ` +
    `in the browser's settings) and load the pack again to keep it. ${AFTER}`
  );
}

/** Why `file` (`bytes` long) was not stored: the browser refused it for lack of room (its quota is not known). */
export function quotaExceededReason(file: string, bytes: number): string {
  return (
    `Not available offline: ${file} (${formatBytes(bytes)}) does not fit in the storage this browser gives this site ` +
    `(the browser refused it: quota exceeded). Free some space (Clear cache below, or other sites' data in the browser's ` +
    `settings) and load the pack again to keep it. ${AFTER}`
  );
}

const isQuotaError = (e: unknown): boolean => e instanceof Error && e.name === 'QuotaExceededError';

/** Why storing `file` failed for another reason: the browser's own error, named. */
export function storeFailedReason(file: string, e: unknown): string {
  return `Not available offline: the browser refused to store ${file} (${errorText(e)}). Load the pack again to retry. ${AFTER}`;
}

/**
 * Wraps `inner` (undefined: no Cache Storage, or `openError` when opening it failed) so that each write first checks the room left by
 * `estimate` (null: unknown, then only failures stop it). After the first refusal nothing more
 * is written: the pack could not be loaded offline anyway.
 */
export function keepOffline(inner: PackFileCache | undefined, estimate: StorageEstimateLike | null, openError: unknown = null): OfflineKeeper {
  if (!inner) {
    const reason = openError
      ? `Not available offline: the browser's Cache Storage could not be opened (${errorText(openError)}), so the pack is downloaded on every visit.`
      : NO_CACHE;
    return { cache: undefined, status: () => ({ available: false, reason }), refuse: () => undefined };
  }
  const quota = estimate?.quota;
  let free = quota === undefined ? Infinity : quota - (estimate?.usage ?? 0);
  let refusal: string | null = null;

  const store = async (file: string, bytes: Uint8Array, write: () => Promise<void>): Promise<void> => {
    if (refusal) return;
    if (quota !== undefined && bytes.length > free) {
      refusal = noRoomReason(file, bytes.length, free, quota);
      return;
    }
    try {
      await write();
      free -= bytes.length;
    } catch (e) {
      refusal = isQuotaError(e) ? quotaExceededReason(file, bytes.length) : storeFailedReason(file, e);
    }
  };

  const cache: PackFileCache = {
    readFile: (file, entry) => inner.readFile(file, entry),
    readManifest: () => inner.readManifest(),
    deleteFile: async (file: string, entry: FileEntry) => {
      await inner.deleteFile(file, entry);
      free += entry.bytes;
    },
    writeFile: (file, entry, bytes) => store(file, bytes, () => inner.writeFile(file, entry, bytes)),
    writeManifest: (bytes) => store('manifest.json', bytes, () => inner.writeManifest(bytes)),
  };
  return {
    cache,
    status: () => ({ available: refusal === null, reason: refusal ?? AVAILABLE }),
    refuse: (reason) => {
      refusal ??= reason;
    },
  };
}
