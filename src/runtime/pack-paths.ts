// What makes a pack-relative path unsafe, in words, and the URL a path resolves to.
//
// The schema's `pathRule` (docs/soundstep-pack-1.schema.json) refuses such paths; this module
// says why (pack-schema.ts appends the reason to the refusal), and `resolveInsidePack` is the
// second line: whatever the manifest says, a file URL must stay below the pack's folder URL.

/** The first reason `path` is not a safe pack-relative path, or null when it is one. */
export function pathProblem(path: string): string | null {
  if (path === '') return 'it is empty';
  if (path.includes('\\')) return 'it contains a backslash, which browsers read as "/": use "/" between folders';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) return 'it is an absolute URL: every file must lie in the pack folder';
  if (path.startsWith('//')) return 'it starts with "//", which a browser reads as the address of another host';
  if (path.includes('%')) {
    return (
      'it is percent-encoded ("%2e%2e/" or "..%2f" becomes "../" once decoded, a file outside the pack folder): ' +
      'write the plain file name'
    );
  }
  if (path.startsWith('/')) return 'it starts with "/", the root of the server, outside the pack folder';
  if (/[?#]/.test(path)) return 'it contains "?" or "#", which a URL reads as a query or a fragment';
  const parts = path.split('/');
  if (parts.includes('..')) return 'it has a ".." part, which climbs out of the pack folder';
  if (parts.includes('.')) return 'it has a "." part';
  if (parts.includes('')) return 'it has an empty part ("//" or a trailing "/")';
  return null;
}

/**
 * The absolute URL of pack file `path` below `packBase` (an absolute folder URL ending in '/'),
 * or an Error saying where it would lead when it leaves that folder.
 */
export function resolveInsidePack(packBase: string, path: string): string {
  const base = new URL(packBase);
  const url = new URL(path, base);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname) || url.search !== '' || url.hash !== '') {
    throw new Error(`resolves to ${url.href}, outside the pack folder ${base.href}`);
  }
  return url.href;
}
