// The Vite dev server for the CLI's browser scripts (bench:browser, check:pack-browser): started
// in its own process (vite's own entry under this node, so kill() stops the server itself; its
// module transforms never wait on the script), serving COOP/COEP from vite.config.ts.

import { spawn, type ChildProcess } from 'node:child_process';

export function startDevServer(port: number): ChildProcess {
  return spawn(process.execPath, ['node_modules/vite/bin/vite.js', '--port', String(port), '--strictPort', '--logLevel', 'warn'], { stdio: 'inherit' });
}

/** Resolves once `url` answers 200; the dev server transforms modules on first request, slow on two loaded cores. */
export async function waitForServer(url: string): Promise<void> {
  for (const until = Date.now() + 120_000; Date.now() < until; ) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the Vite dev server did not answer at ${url} within 2 minutes`);
}
