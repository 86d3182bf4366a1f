import { useStore } from '../../store';

/**
 * Clip length: the pack's own, or a whole multiple of it up to 10.24 s when its graphs take longer
 * latents (the U-Net, VAE decoder and vocoder are convolutional in time). A longer clip costs the
 * same number of steps, each on a latent k times as long.
 */
export function LengthField({ disabled }: { disabled: boolean }) {
  const lengths = useStore((s) => s.manifest?.clipLengths);
  const own = useStore((s) => s.manifest?.clipSeconds);
  const chosen = useStore((s) => s.seconds);
  const { setSeconds } = useStore.getState();
  if (own === undefined) return null;
  const offered = lengths && lengths.length > 0 ? lengths : [own];
  const value = chosen ?? own;
  const k = Math.round(value / own);
  return (
    <div className="field">
      <label htmlFor="clip-length">Length</label>
      <select
        id="clip-length"
        value={value}
        disabled={disabled || offered.length < 2}
        aria-describedby="clip-length-help"
        onChange={(e) => setSeconds(Number(e.target.value))}
      >
        {offered.map((s) => (
          <option key={s} value={s}>
            {s} s{s === own ? ' (trained length)' : ''}
          </option>
        ))}
      </select>
      <p id="clip-length-help" className="hint muted" data-testid="clip-length-help">
        {offered.length < 2
          ? `This pack's graphs make ${own} s clips only.`
          : value === own
            ? `The length the pack was trained on.`
            : `${k}× the trained length: each step works on a ${k}× longer latent; regenerating a range needs ${own} s sounds.`}
      </p>
    </div>
  );
}
