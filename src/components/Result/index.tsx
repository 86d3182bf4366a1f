import { useEffect, useRef } from 'react';
import { STAGES } from '../../runtime/api';
import { selectLastOutcome, selectResult, useStore } from '../../store';

const fmtSeconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** The last generated sound: player, download link, truncation note, timings. */
export function Result() {
  const result = useStore(selectResult);
  const outcome = useStore(selectLastOutcome);
  const headingRef = useRef<HTMLHeadingElement>(null);

  // a new result moves focus to its heading, so keyboard users land on the player
  const lastId = useRef<number | null>(null);
  useEffect(() => {
    if (result && result.id !== lastId.current) {
      if (lastId.current !== null || document.activeElement === document.body) headingRef.current?.focus();
      lastId.current = result.id;
    }
  }, [result]);

  if (!result) {
    return outcome === 'cancelled' ? (
      <p className="muted" role="status">
        Generation cancelled.
      </p>
    ) : null;
  }

  const { request } = result;
  return (
    <section className="card result" aria-labelledby="result-heading" data-testid="result">
      <h2 id="result-heading" ref={headingRef} tabIndex={-1}>
        Result
      </h2>
      <p className="result-prompt">
        “{request.prompt}” <span className="muted">· {request.steps} steps · seed {request.seed}</span>
      </p>
      {result.truncated && (
        <p className="note" role="status" data-testid="truncated">
          Your prompt has {result.tokenCount} tokens; the model reads at most {result.maxTokens ?? 'the first'} tokens, so
          it was truncated.
        </p>
      )}
      <audio controls src={result.url} data-testid="audio">
        Your browser cannot play WAV audio.
      </audio>
      <p className="download">
        <a className="button" href={result.url} download={result.fileName} data-testid="download">
          Download WAV
        </a>
        <span className="muted file-hint">{result.fileName}</span>
      </p>
      {outcome === 'cancelled' && (
        <p className="muted" role="status">
          The last generation was cancelled; this is the one before.
        </p>
      )}
      <details>
        <summary>
          Took {fmtSeconds(result.totalMs)} · {result.networkEvaluations} network evaluations
        </summary>
        <dl className="timings" data-testid="timings">
          {STAGES.map((s) => (
            <div key={s}>
              <dt>{s}</dt>
              <dd>{fmtSeconds(result.timings[s] ?? 0)}</dd>
            </div>
          ))}
        </dl>
      </details>
    </section>
  );
}
