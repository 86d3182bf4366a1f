import { selectJob, selectProgressPercent, selectProgressText, useStore } from '../../store';
import { ProgressBar } from '../GenerationProgress/ProgressBar';

/** What the grid is doing now: "cell 3 of 7: teacher · 50 steps · denoise: step 12 of 50". */
export function GridProgress() {
  const job = useStore(selectJob);
  const text = useStore(selectProgressText);
  const percent = useStore(selectProgressPercent);
  if (job?.kind !== 'grid') return null;
  // the whole grid's share: the cells done, plus the running cell's own fraction
  const overall = Math.round(((job.index + (percent ?? 0) / 100) / job.items.length) * 100);
  return <ProgressBar label="Grid progress" percent={overall} text={text} testId="grid-progress" />;
}
