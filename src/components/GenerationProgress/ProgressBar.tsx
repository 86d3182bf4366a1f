/** A labelled progress bar and the line of text under it; `testId` names both ("<id>", "<id>-text"). */
export function ProgressBar({ label, percent, text, testId }: { label: string; percent: number; text: string | null; testId: string }) {
  return (
    <div className="progress" data-testid={testId}>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={text ?? undefined}
        className="progress-track"
      >
        <div className="progress-fill" style={{ width: `${percent}%` }} />
      </div>
      <p className="progress-text" data-testid={`${testId}-text`}>
        {text}
      </p>
    </div>
  );
}
