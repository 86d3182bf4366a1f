// Test helper: the PackError that validateManifest raises for a manifest the test has broken.

import { expect } from 'vitest';
import { PackError } from '../runtime/errors';
import { validateManifest } from '../runtime/manifest';

/** Validate `manifest`, expect it refused as manifest.json's fault, and return the error; a
 *  manifest that passes fails the test with `accepted` (what the test expected to be refused). */
export function manifestRefusal(manifest: unknown, accepted = 'the manifest'): PackError {
  try {
    validateManifest(manifest);
  } catch (e) {
    expect(e).toBeInstanceOf(PackError);
    expect((e as PackError).file).toBe('manifest.json');
    return e as PackError;
  }
  throw new Error(`${accepted} was accepted`);
}
