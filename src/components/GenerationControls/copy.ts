// Copy text to the clipboard: the async Clipboard API where the page may use it, else the old
// hidden-textarea + execCommand('copy') route (http pages that are not secure contexts,
// browsers without the API, a denied permission).

export type CopyRoute = 'clipboard' | 'fallback';

export async function copyText(text: string): Promise<CopyRoute> {
  try {
    if (typeof navigator !== 'undefined' && navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return 'clipboard';
    }
  } catch {
    // denied or unavailable: fall through to the fallback
  }
  const focused = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.setAttribute('aria-hidden', 'true');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok: boolean;
  try {
    ok = document.execCommand('copy');
  } finally {
    area.remove();
    focused?.focus();
  }
  if (!ok) throw new Error('the browser refused to copy');
  return 'fallback';
}
