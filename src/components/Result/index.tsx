import { useEffect, useRef, useState } from 'react';
import { STAGES } from '../../runtime/api';
import { selectLastCancel, selectLastOutcome, selectResults, selectRun, useStore, type GenerationResult } from '../../store';
import { HISTORY_LIMIT } from '../../history';
import { SoundPictures } from '../SoundPictures';
import type { LatentEdit } from '../../runtime/api';
import { fmtSeconds } from './format';
import { EditNote, RangeEditor } from './RangeEditor';

/** "teacher · 25 steps · seed 7 · guidance 3 · negative “rain”", the line that says how a sound was made. */
export function describeRequest(r: GenerationResult['request'], guided: boolean): string {
  const negative = guided && r.negativePrompt && r.negativePrompt.trim() !== '' ? ` · negative “${r.negativePrompt}”` : '';
  return `${r.denoiserId} · ${r.steps} steps · seed ${r.seed} · ${guided ? `guidance ${r.guidanceScale}` : 'guidance folded'}${negative}`;
}

/** One result: heading, how it was made, measured time and NFE, player, pictures, download, delete. */
function ResultCard({ result, onDelete, onInpaint, headingRef }: { result: GenerationResult; onDelete: () => void; onInpaint: (edit: LatentEdit) => void; headingRef?: React.Ref<HTMLHeadingElement> }) {
  const { request } = result;
  const denoiser = useStore((s) => s.manifest?.denoisers.find((d) => d.id === request.denoiserId));
  // a result from another pack (history) has no denoiser entry: 2 NFE per step means it was guided
  const guided = denoiser ? denoiser.guidance.type === 'classifier-free' : result.networkEvaluations === 2 * request.steps;
  const headingId = `result-${result.key}`;
  return (
    <li className="card result" aria-labelledby={headingId} data-testid="result" data-key={result.key}>
      <h3 id={headingId} ref={headingRef} tabIndex={-1} className="result-prompt">
        “{request.prompt}”
      </h3>
      <p className="result-meta muted" data-testid="result-meta">
        {describeRequest(request, guided)}
        <EditNote result={result} />
        <span data-testid="result-pack" title={result.packUrl}>
          {' '}
          · pack {result.packName ?? result.packId}
        </span>
        {result.restored && <span className="badge"> · kept from an earlier visit</span>}
      </p>
      <p className="result-cost" data-testid="result-cost">
        Took <strong>{fmtSeconds(result.totalMs)}</strong> · <strong>{result.networkEvaluations}</strong> network evaluations
      </p>
      {result.timeSplit && (
        <p className="note" data-testid="time-split">
          Your prompt names an order, so it was made in two halves: “{result.timeSplit[0]}” first, then “{result.timeSplit[1]}”.
        </p>
      )}
      {result.truncated && (
        <p className="note" role="status" data-testid="truncated">
          Your prompt has {result.tokenCount} tokens; the model reads at most {result.maxTokens ?? 'the first'} tokens, so it
          was truncated.
        </p>
      )}
      <audio controls src={result.url} data-testid="audio" aria-label={`Play “${request.prompt}”, seed ${request.seed}`}>
        Your browser cannot play WAV audio.
      </audio>
      <SoundPictures wav={result.wav} mel={result.mel} label={`“${request.prompt}”, seed ${request.seed}`} />
      <div className="download">
        <a className="button" href={result.url} download={result.fileName} data-testid="download">
          Download WAV
        </a>
        <span className="muted file-hint">{result.fileName}</span>
        <button type="button" className="secondary" onClick={onDelete} aria-label={`Delete “${request.prompt}”, seed ${request.seed}`}>
          Delete
        </button>
      </div>
      <RangeEditor result={result} onInpaint={onInpaint} />
      <details>
        <summary>Time per stage</summary>
        <dl className="timings" data-testid="timings">
          {STAGES.map((s) => (
            <div key={s}>
              <dt>{s}</dt>
              <dd>{fmtSeconds(result.timings[s] ?? 0)}</dd>
            </div>
          ))}
        </dl>
      </details>
    </li>
  );
}

/** "Generation cancelled." and where it stopped, so the user sees it stopped within a step. */
function CancelNote() {
  const info = useStore(selectLastCancel);
  const outcome = useStore(selectLastOutcome);
  if (outcome !== 'cancelled') return null;
  return (
    <p className="muted" role="status" data-testid="cancel-note">
      {info?.reason ?? 'Generation cancelled.'}
      {info?.stoppedAt != null && info.totalSteps != null && (
        <>
          {' '}
          Stopped after denoising step <span data-testid="cancel-stopped">{info.stoppedAt}</span> of {info.totalSteps}
          {info.requestedAt != null && (
            <>
              {' '}
              (Cancel reached the generator after step <span data-testid="cancel-requested">{info.requestedAt}</span>)
            </>
          )}
          .
        </>
      )}
      {info && info.skipped > 0 && ` ${info.skipped} more ${info.skipped === 1 ? 'sound was' : 'sounds were'} not started.`}
    </p>
  );
}

/** The results list: newest first, kept in this browser (the last HISTORY_LIMIT); delete one or all. */
export function Results({ onDelete, onClear, onInpaint }: { onDelete: (key: string) => void; onClear: () => void; onInpaint: (edit: LatentEdit) => void }) {
  const results = useStore(selectResults);
  const run = useStore(selectRun);
  const historyStatus = useStore((s) => s.historyStatus);
  const historyMessage = useStore((s) => s.historyMessage);
  const [confirming, setConfirming] = useState(false);
  const newestRef = useRef<HTMLHeadingElement>(null);
  const sectionRef = useRef<HTMLHeadingElement>(null);

  // a finished generation moves focus to its heading when focus was lost (the Cancel button went away)
  const newest = results[0];
  const lastKey = useRef<string | null | undefined>(undefined);
  useEffect(() => {
    const key = newest && !newest.restored ? newest.key : null;
    if (lastKey.current !== undefined && key && key !== lastKey.current && !run && document.activeElement === document.body) {
      newestRef.current?.focus();
    }
    lastKey.current = key ?? lastKey.current ?? null;
  }, [newest, run]);

  if (results.length === 0) {
    return (
      <>
        <CancelNote />
        {historyMessage && <p className="note">{historyMessage}</p>}
      </>
    );
  }

  return (
    <section className="results" aria-labelledby="results-heading">
      <div className="results-head">
        <h2 id="results-heading" ref={sectionRef} tabIndex={-1}>
          Results <span className="muted count">({results.length})</span>
        </h2>
        {confirming ? (
          <span className="confirm" role="group" aria-label="Confirm clearing">
            <button
              type="button"
              onClick={() => {
                setConfirming(false);
                onClear();
                sectionRef.current?.focus();
              }}
            >
              Delete all {results.length}
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Keep them
            </button>
          </span>
        ) : (
          <button type="button" className="secondary" onClick={() => setConfirming(true)}>
            Clear all
          </button>
        )}
      </div>
      <p className="muted hint" data-testid="history-status">
        {historyStatus === 'ready'
          ? `The last ${HISTORY_LIMIT} results are kept in this browser and come back after a reload.`
          : historyStatus === 'opening'
            ? 'Opening this browser’s storage…'
            : 'Results are kept until you leave the page.'}
      </p>
      {historyMessage && <p className="note">{historyMessage}</p>}
      <CancelNote />
      <ol className="result-list">
        {results.map((r, i) => (
          <ResultCard
            onInpaint={onInpaint}
            key={r.key}
            result={r}
            onDelete={() => {
              onDelete(r.key);
              sectionRef.current?.focus(); // the focused Delete button goes away with its card
            }}
            headingRef={i === 0 ? newestRef : undefined}
          />
        ))}
      </ol>
    </section>
  );
}
