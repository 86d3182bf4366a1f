// Peak memory of one N-byte pack file downloaded, checked and cached by the loader (src/runtime/pack.ts) in a
// Chromium worker: the renderer process's peak RSS (VmHWM) above its RSS before. Usage, from the repo root:
//   npx esbuild scripts/download-memory/entry.ts --bundle --format=esm --outfile=/tmp/w.js
//   node scripts/download-memory/run.mjs /tmp/w.js 300      (MiB; a profile on disk, so Cache Storage has a real quota)
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { chromium } from 'playwright';
const [workerJs, mibArg] = process.argv.slice(2);
const mb = Number(mibArg);
const CHUNK = 2 ** 20;
const chunk = Buffer.from(Array.from({ length: CHUNK }, (_, i) => (i * 2654435761) >>> 24));
const h = createHash('sha256'); for (let i = 0; i < mb; i++) h.update(chunk);
const sha256 = h.digest('hex');
const page = `<script>const w = new Worker('/w.js'); w.onmessage = (e) => { window.result = e.data; }; window.go = () => w.postMessage({ bytes: ${mb * CHUNK}, sha256: '${sha256}' });</script>`;
const server = createServer((req, res) => {
  if (req.url === '/') { res.writeHead(200, { 'content-type': 'text/html' }); return res.end(page); }
  if (req.url === '/w.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); return res.end(readFileSync(workerJs)); }
  res.writeHead(200, { 'content-length': String(mb * CHUNK) });
  let sent = 0;
  const pump = () => { while (sent < mb && res.write(chunk)) sent++; if (sent < mb) res.once('drain', () => { sent++; pump(); }); else res.end(); };
  pump();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'download-memory-')), { executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const p = await browser.newPage();
await p.goto(`http://127.0.0.1:${port}/`);
const kb = (pid, key) => { try { const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(key + ':\\s+(\\d+)')); return m ? Number(m[1]) : 0; } catch { return 0; } };
const renderers = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer'); } catch { return false; } });
await p.waitForTimeout(500);
const pids = renderers();
const before = Object.fromEntries(pids.map((pid) => [pid, kb(pid, 'VmRSS')]));
await p.evaluate(() => window.go());
await p.waitForFunction(() => window.result, null, { timeout: 600000, polling: 200 });
const result = await p.evaluate(() => window.result);
const usage = await p.evaluate(() => navigator.storage.estimate());
result.usage = usage.usage;
const peaks = pids.map((pid) => ({ pid, before: before[pid], hwm: kb(pid, 'VmHWM') })).sort((a, b) => b.hwm - b.before - (a.hwm - a.before));
const top = peaks[0];
console.log(JSON.stringify({ mb, result, rendererPeakAboveMiB: Math.round((top.hwm - top.before) / 1024), xN: +((top.hwm - top.before) / 1024 / mb).toFixed(2) }));
await browser.close(); server.close();
