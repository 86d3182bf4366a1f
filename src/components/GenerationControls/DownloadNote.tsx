import { formatBytes } from '../PackStatus/pack-url';
import { selectDenoiser, selectManifest, selectOnDemand, useStore } from '../../store';

/**
 * Which models are not downloaded yet and what each one's first use downloads: a pack loads one
 * denoiser up front (its default), the others when a generation or the comparison grid asks
 * for them, so the user knows before choosing one that it will take a moment.
 */
export function DownloadNote() {
  const onDemand = useStore(selectOnDemand);
  const denoiser = useStore(selectDenoiser);
  const manifest = useStore(selectManifest);
  const waiting = (manifest?.denoisers ?? []).map((d) => d.id).filter((id) => id in onDemand);
  if (waiting.length === 0) return null;
  const chosen = denoiser ? onDemand[denoiser.id] : undefined;
  return (
    <>
      {denoiser && chosen !== undefined && (
        <p className="hint muted" data-testid="model-download">
          {denoiser.id} is not downloaded yet: it downloads {formatBytes(chosen)} on first use.
        </p>
      )}
      <p className="hint muted" data-testid="models-not-downloaded">
        Not downloaded yet (each downloads on first use): {waiting.map((id) => `${id} (${formatBytes(onDemand[id] ?? 0)})`).join(', ')}.
      </p>
    </>
  );
}
