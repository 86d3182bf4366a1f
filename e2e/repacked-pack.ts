// The shipped pack repacked with ONNX external data and float16 variants
// (`python -m soundstep_factory.repack --external-data --fp16`), built at test time into the
// git-ignored .cache/e2e-packs/ and served to the browser as if from another origin.
//
// Serving is request interception on the browser context (it also sees the worker's fetches):
// nothing listens on that host, so a test can also make it fail (abort = offline, no CORS
// header, a 404, a damaged file) without touching the files on disk.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Route } from '@playwright/test';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SHIPPED = join(REPO, 'public/models/soundstep-small');
export const REPACKED_DIR = join(REPO, '.cache/e2e-packs/soundstep-small-xd');
/** A host that does not exist: only the route below answers for it. */
export const REMOTE_ORIGIN = 'https://packs.soundstep.test';
export const REMOTE_PACK_URL = `${REMOTE_ORIGIN}/soundstep-small-xd/`;
const STAMP = '.repack-stamp';

/** What the repacked folder was built from: the shipped manifest and the repack code. */
function stamp(): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(SHIPPED, 'manifest.json')));
  h.update(readFileSync(join(REPO, 'factory/soundstep_factory/repack.py')));
  return h.digest('hex');
}

/** Build the repacked pack unless an up-to-date one is there; returns its folder. */
export function ensureRepackedPack(): string {
  const want = stamp();
  const stampFile = join(REPACKED_DIR, STAMP);
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) return REPACKED_DIR;
  const python = join(REPO, 'factory/.venv/bin/python');
  if (!existsSync(python)) {
    throw new Error(`${python} is missing: create the factory environment first (bash scripts/setup-factory.sh)`);
  }
  const out = execFileSync(
    python,
    ['-m', 'soundstep_factory.repack', '--src', SHIPPED, '--dst', REPACKED_DIR, '--external-data', '--fp16'],
    { cwd: join(REPO, 'factory'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const result = JSON.parse(out) as { parity: Array<{ file: string; dtype: string; max_abs_error: number }> };
  for (const p of result.parity) console.log(`repack parity: ${p.file} (${p.dtype}) max abs error ${p.max_abs_error.toExponential(3)}`);
  writeFileSync(stampFile, want);
  return REPACKED_DIR;
}

export interface ServeOptions {
  /** send Access-Control-Allow-Origin (default true); false: the browser refuses the response (CORS) */
  cors?: boolean;
  /** files answered 404 */
  missing?: readonly string[];
  /** files served with 16 bytes flipped in the middle (same size, other hash) */
  damaged?: readonly string[];
}

const TYPES: Record<string, string> = { json: 'application/json', onnx: 'application/octet-stream' };

/** Serve `dir` at `baseUrl` in `context`; returns the list of files requested (for assertions). */
export async function servePack(context: BrowserContext, dir: string, baseUrl: string, opts: ServeOptions = {}): Promise<string[]> {
  const requested: string[] = [];
  await context.route(`${baseUrl}**`, async (route: Route) => {
    const url = new URL(route.request().url());
    const file = decodeURIComponent(url.pathname.slice(new URL(baseUrl).pathname.length));
    requested.push(file);
    const headers: Record<string, string> = opts.cors === false ? {} : { 'access-control-allow-origin': '*' };
    const path = join(dir, ...file.split('/'));
    if (opts.missing?.includes(file) || file === '' || file.includes('..') || !existsSync(path)) {
      await route.fulfill({ status: 404, headers, body: 'not found' });
      return;
    }
    const body = readFileSync(path);
    if (opts.damaged?.includes(file)) {
      const mid = body.length >> 1;
      for (let i = mid; i < mid + 16; i++) body.writeUInt8(body.readUInt8(i) ^ 0xa5, i);
    }
    const ext = file.split('.').pop() ?? '';
    await route.fulfill({ status: 200, headers: { ...headers, 'content-type': TYPES[ext] ?? 'application/octet-stream' }, body });
  });
  return requested;
}

/** Make every request to `baseUrl` fail as if offline; returns the list of files requested. */
export async function goOffline(context: BrowserContext, baseUrl: string): Promise<string[]> {
  await context.unroute(`${baseUrl}**`);
  const requested: string[] = [];
  await context.route(`${baseUrl}**`, async (route) => {
    requested.push(new URL(route.request().url()).pathname);
    await route.abort('internetdisconnected');
  });
  return requested;
}
