// Names for downloaded files: readable, stable, and safe on every file system.

/** Longest slug in a file name, in characters. */
const MAX_SLUG = 48;

/** "a-dog-barks-in-the-rain" from a prompt: lowercase ASCII words, whole words, at most 48 characters. */
export function slugify(text: string, fallback = 'sound'): string {
  const full = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents fall away: "crème" -> "creme"
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (full.length <= MAX_SLUG) return full || fallback;
  const cut = full.slice(0, MAX_SLUG + 1);
  const lastDash = cut.lastIndexOf('-');
  // cut at the last word boundary, unless the first word alone is that long
  return (lastDash > 0 ? cut.slice(0, lastDash) : full.slice(0, MAX_SLUG)).replace(/-+$/g, '');
}

/**
 * Download name from the four things that reproduce a sound: prompt, model (denoiser id),
 * steps and seed, e.g. "a-dog-barks_bsa-25_25-steps_seed-7.wav".
 */
export function wavFileName(prompt: string, model: string, steps: number, seed: number): string {
  return `${slugify(prompt)}_${slugify(model, 'model')}_${steps}-steps_seed-${seed}.wav`;
}
