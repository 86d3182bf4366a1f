// The shipped pack repacked with ONNX external data and float16 variants
// (`python -m soundstep_factory.repack --external-data --fp16`, src/testing/repacked.ts), built
// at test time into the git-ignored .cache/e2e-packs/ and served to the browser as if from
// another origin.
//
// Serving is request interception on the browser context (it also sees the worker's fetches):
// nothing listens on that host, so a test can also make it fail (abort = offline, a 404, a
// damaged file) without touching the files on disk.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Route } from '@playwright/test';
import { ensureRepackedPack as build } from '../src/testing/repacked';

/** A host that does not exist: only the route below answers for it. */
export const REMOTE_ORIGIN = 'https://packs.soundstep.test';
export const REMOTE_PACK_URL = `${REMOTE_ORIGIN}/soundstep-small-xd/`;
/** Where the dev server serves the pack it was repacked from (src/testing/pack.ts's PACK_DIR), to compare with. */
export const SOURCE_PACK_PATH = '/models/soundstep-small/';

/** Build the repacked pack (src/testing/repacked.ts) unless an up-to-date one is there; returns its folder. */
export function ensureRepackedPack(): string {
  return build((line) => console.log(line));
}

export interface ServeOptions {
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
    // (Chromium does not CORS-check what Playwright fulfils: pack-url.spec.ts uses a real server for that)
    const headers: Record<string, string> = { 'access-control-allow-origin': '*' };
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
