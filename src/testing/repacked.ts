// Test helper (Node): the shipped pack repacked with ONNX external data and float16 variants
// by the factory (`python -m soundstep_factory.repack --external-data --fp16`), built into the
// git-ignored .cache/e2e-packs/ once per change of the shipped manifest or of repack.py.
// Used by the runtime's unit tests and by the Playwright tests (e2e/repacked-pack.ts).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACK_DIR, REPO_DIR } from './pack';

export const REPACKED_DIR = join(REPO_DIR, '.cache/e2e-packs/soundstep-small-xd');
const STAMP = '.repack-stamp';

/** What the repacked folder was built from: the shipped manifest and the repack code. */
function stamp(): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(PACK_DIR, 'manifest.json')));
  h.update(readFileSync(join(REPO_DIR, 'factory/soundstep_factory/repack.py')));
  return h.digest('hex');
}

export interface RepackParity {
  file: string;
  dtype: string;
  max_abs_error: number;
}

/** Build the repacked pack unless an up-to-date one is there; returns its folder. */
export function ensureRepackedPack(log: (line: string) => void = () => undefined): string {
  const want = stamp();
  const stampFile = join(REPACKED_DIR, STAMP);
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) return REPACKED_DIR;
  const python = join(REPO_DIR, 'factory/.venv/bin/python');
  if (!existsSync(python)) {
    throw new Error(`${python} is missing: create the factory environment first (bash scripts/setup-factory.sh)`);
  }
  const out = execFileSync(
    python,
    ['-m', 'soundstep_factory.repack', '--src', PACK_DIR, '--dst', REPACKED_DIR, '--external-data', '--fp16'],
    { cwd: join(REPO_DIR, 'factory'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const result = JSON.parse(out) as { parity: RepackParity[] };
  for (const p of result.parity) log(`repack parity: ${p.file} (${p.dtype}) max abs error ${p.max_abs_error.toExponential(3)}`);
  writeFileSync(stampFile, want);
  return REPACKED_DIR;
}
