// Node only: a FetchFile over a pack folder on disk (the CLI and the tests). The browser
// bundle must not import this file.

import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CancelledError, PackError } from './errors';
import type { FetchFile } from './pack';

/** A FetchFile reading `dir/<path>`; a missing file throws PackError naming it. */
export function fsFetchFile(dir: string): FetchFile {
  const root = resolve(dir);
  return async (path, onProgress, signal) => {
    if (signal?.aborted) throw new CancelledError(`The download of ${path} was cancelled.`);
    const full = join(root, ...path.split('/'));
    if (!full.startsWith(root)) throw new PackError(path, 'is outside the pack folder');
    let bytes: Buffer;
    try {
      bytes = await readFile(full);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        const dirExists = await stat(root).then((s) => s.isDirectory(), () => false);
        throw new PackError(path, dirExists ? `not found in ${root}` : `not found: the pack folder ${root} does not exist`);
      }
      throw new PackError(path, `could not be read from ${full} (${(e as Error).message})`, { cause: e });
    }
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    onProgress?.(view.length, view.length);
    return view;
  };
}
