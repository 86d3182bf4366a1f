import { selectProgressPercent, selectProgressText, useStore } from '../../store';

/** Progress of the run in flight: the stage, and step i of N while denoising. */
export function GenerationProgress() {
  const percent = useStore(selectProgressPercent);
  const text = useStore(selectProgressText);
  if (percent === null || text === null) return null;
  return (
    <div className="progress" data-testid="progress">
      <div
        role="progressbar"
        aria-label="Generation progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={text}
        className="progress-track"
      >
        <div className="progress-fill" style={{ width: `${percent}%` }} />
      </div>
      <p className="progress-text" data-testid="progress-text">
        {text}
      </p>
    </div>
  );
}
