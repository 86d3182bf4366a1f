// Test helpers: the real shipped pack (public/models/soundstep-small) and its golden file.
// Tests that need the pack fail with a clear message when it is missing (never skip silently).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseGolden, type Golden } from '../runtime/golden';
import type { OrtModule } from '../runtime/ort';

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PACK_DIR = join(REPO_DIR, 'public/models/soundstep-small');

/** The pack folder; throws when its manifest.json is missing. */
export function requirePack(): string {
  const manifest = join(PACK_DIR, 'manifest.json');
  if (!existsSync(manifest)) {
    throw new Error(
      `The model pack is missing: ${manifest} does not exist. Build it with the factory ` +
        '(cd factory && .venv/bin/python -m soundstep_factory.build --config small) before running these tests.',
    );
  }
  return PACK_DIR;
}

export function readPackJson(file: string): unknown {
  return JSON.parse(readFileSync(join(requirePack(), file), 'utf8'));
}

/** golden.json of the shipped pack, validated. */
export function loadGolden(): Golden {
  const manifest = readPackJson('manifest.json') as { golden?: string | null };
  const file = manifest.golden ?? 'golden.json';
  return parseGolden(readPackJson(file), file);
}

/** onnxruntime-node as an OrtModule (its CommonJS exports sit on `default` under some loaders). */
export async function ortNode(): Promise<OrtModule> {
  const mod = (await import('onnxruntime-node')) as unknown as OrtModule & { default?: OrtModule };
  const ort = mod.InferenceSession ? mod : mod.default;
  if (!ort?.InferenceSession) throw new Error('onnxruntime-node exports no InferenceSession');
  return ort;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function rms(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / x.length);
}
