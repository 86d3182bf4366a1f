/** A generation's wall time as the page shows it: two decimals under 10 s, one from there on. */
export const fmtSeconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
