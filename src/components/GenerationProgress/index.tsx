import { selectProgressPercent, selectProgressText, useStore } from '../../store';
import { ProgressBar } from './ProgressBar';

/** Progress of the run in flight: the stage, and step i of N while denoising. */
export function GenerationProgress() {
  const percent = useStore(selectProgressPercent);
  const text = useStore(selectProgressText);
  if (percent === null || text === null) return null;
  return <ProgressBar label="Generation progress" percent={percent} text={text} testId="progress" />;
}
