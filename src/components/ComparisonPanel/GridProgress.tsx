import { selectJob, selectProgressPercent, selectProgressText, useStore } from '../../store';

/** What the grid is doing now: "cell 3 of 7: teacher · 50 steps · denoise: step 12 of 50". */
export function GridProgress() {
  const job = useStore(selectJob);
  const text = useStore(selectProgressText);
  const percent = useStore(selectProgressPercent);
  if (job?.kind !== 'grid') return null;
  const overall = Math.round(((job.index + (percent ?? 0) / 100) / job.items.length) * 100);
  return (
    <div className="progress" data-testid="grid-progress">
      <div
        role="progressbar"
        aria-label="Grid progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={overall}
        aria-valuetext={text ?? undefined}
        className="progress-track"
      >
        <div className="progress-fill" style={{ width: `${overall}%` }} />
      </div>
      <p className="progress-text" data-testid="grid-progress-text">
        {text}
      </p>
    </div>
  );
}
