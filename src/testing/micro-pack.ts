// Test helper (Node): the factory's micro pack (`python -m soundstep_factory.build --config micro`,
// about two minutes), which has a VAE encoder (the shipped pack's is lost). Built into the
// git-ignored factory/work/micro/pack once; tests that need it fail with the reason when the
// factory cannot build it (never skip silently).

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from './pack';

export const MICRO_PACK_DIR = join(REPO_DIR, 'factory/work/micro/pack');

/** The micro pack's folder, built by the factory first when it is not there. */
export function ensureMicroPack(): string {
  if (existsSync(join(MICRO_PACK_DIR, 'manifest.json'))) return MICRO_PACK_DIR;
  const python = join(REPO_DIR, 'factory/.venv/bin/python');
  if (!existsSync(python)) {
    throw new Error(`${python} is missing: create the factory environment first (bash scripts/setup-factory.sh)`);
  }
  execFileSync(python, ['-m', 'soundstep_factory.build', '--config', 'micro'], { cwd: join(REPO_DIR, 'factory'), stdio: 'ignore' });
  return MICRO_PACK_DIR;
}
