// SHA-256 of pack files without a second copy of a large file in memory.
//
// WebCrypto's digest is one-shot and copies its input (the spec makes it take "a copy of the
// bytes held by the buffer source"), so a 3.5 GB external-data file would be held twice while
// it is hashed. Above COPY_LIMIT the hash is @noble/hashes' incremental SHA-256 instead, fed in
// slices with a yield between them so that a 'cancel-load' message still gets in; a download
// feeds it chunk by chunk as the bytes arrive (pack.ts), so there the hash costs no extra pass.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** Files up to this size are hashed by WebCrypto (faster; its copy is small). */
export const COPY_LIMIT = 64 * 2 ** 20;
/** Slice fed to the incremental hash between yields. */
const SLICE = 16 * 2 ** 20;

/** An incremental SHA-256: update with each chunk, then hex once. */
export interface Sha256Stream {
  update(chunk: Uint8Array): void;
  /** bytes fed so far */
  readonly bytes: number;
  hex(): string;
}

export function sha256Stream(): Sha256Stream {
  const h = sha256.create();
  let bytes = 0;
  return {
    update(chunk) {
      h.update(chunk);
      bytes += chunk.length;
    },
    get bytes() {
      return bytes;
    },
    hex: () => bytesToHex(h.digest()),
  };
}

const yieldToEvents = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Lowercase hex SHA-256 of `bytes`: WebCrypto up to COPY_LIMIT, else incremental (no copy). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle && bytes.length <= COPY_LIMIT) {
    const digest = await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }
  const h = sha256Stream();
  for (let at = 0; at < bytes.length; at += SLICE) {
    h.update(bytes.subarray(at, at + SLICE));
    if (at + SLICE < bytes.length) await yieldToEvents();
  }
  return h.hex();
}
