// The "Load a pack from a URL" field: what the user typed -> the pack folder URL the worker
// loads, or a sentence saying what is wrong with it. Pure, so it is unit-tested.

export type PackUrlResult = { ok: true; url: string } | { ok: false; error: string };

const EXAMPLE = 'https://example.com/packs/soundstep-small/';

/**
 * The absolute URL of the pack folder (ending in '/') for `input`, resolved against `base`
 * (the page's URL, so a relative path such as `models/soundstep-small/` works). A URL of the
 * manifest itself is taken as its folder. Only http(s) can be fetched by the worker.
 */
export function parsePackUrl(input: string, base: string): PackUrlResult {
  const text = input.trim();
  if (text === '') return { ok: false, error: `Enter the URL of a model pack folder, e.g. ${EXAMPLE}` };
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    return { ok: false, error: `"${text}" is not a URL. Enter an address like ${EXAMPLE}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, error: `Only http and https URLs can be loaded (this one is ${url.protocol}). Enter an address like ${EXAMPLE}` };
  }
  url.hash = '';
  if (url.pathname.endsWith('/manifest.json')) url.pathname = url.pathname.slice(0, -'manifest.json'.length);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return { ok: true, url: url.href };
}

/** "36.8 MB", "527 kB", "350 B" */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

/** Whole percent of `loaded` in `total` (0 when the total is unknown), at most 100. */
export function percent(loaded: number, total: number): number {
  return total > 0 ? Math.min(100, Math.floor((100 * loaded) / total)) : 0;
}
