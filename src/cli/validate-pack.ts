// Checks a model pack folder the way the app does when it loads it: manifest.json against
// soundstep-pack/1 (docs/soundstep-pack-1.schema.json and the app's cross-field checks), then every
// listed file's size and SHA-256. The factory's tests run it on the pack they build, so a
// manifest the app would refuse fails there.
// Usage: npx tsx src/cli/validate-pack.ts DIR [--manifest-only]

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PackError } from '../runtime/errors';
import { fsFetchFile } from '../runtime/fs-fetch';
import type { Manifest } from '../runtime/manifest';
import { fetchManifest, verifyFile } from '../runtime/pack';

/** The pack's validated manifest; throws PackError naming the file and the problem. */
export async function validatePack(dir: string, opts: { manifestOnly?: boolean } = {}): Promise<Manifest> {
  const fetchFile = fsFetchFile(dir);
  const manifest = await fetchManifest(fetchFile);
  if (!opts.manifestOnly) {
    for (const file of Object.keys(manifest.files)) await verifyFile(manifest, file, await fetchFile(file));
  }
  return manifest;
}

/** Runs the command line; returns the exit code (0: the app would load this pack). */
export async function main(argv: readonly string[]): Promise<number> {
  const dirs = argv.filter((a) => !a.startsWith('-'));
  const unknown = argv.filter((a) => a.startsWith('-') && a !== '--manifest-only');
  if (dirs.length !== 1 || unknown.length > 0) {
    console.error('usage: npx tsx src/cli/validate-pack.ts DIR [--manifest-only]');
    return 2;
  }
  const dir = dirs[0] as string;
  try {
    const m = await validatePack(dir, { manifestOnly: argv.includes('--manifest-only') });
    const checked = argv.includes('--manifest-only') ? 'manifest only' : `${Object.keys(m.files).length} files verified`;
    console.log(`${dir}: ${m.format} pack "${m.id}", ${m.denoisers.length} denoisers, ${checked}`);
    return 0;
  } catch (e) {
    console.error(`${dir}: ${e instanceof PackError ? e.message : String(e)}`);
    return 1;
  }
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(resolve(entry)).href) {
  process.exitCode = await main(process.argv.slice(2));
}
