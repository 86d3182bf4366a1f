import { useEffect, useRef, type FormEvent } from 'react';
import {
  selectDenoiser,
  selectGenerateBlocker,
  selectPrompt,
  selectRun,
  selectSeed,
  selectStepOptions,
  selectSteps,
  useStore,
} from '../../store';
import type { DenoiserSummary } from '../../worker/protocol';

function denoiserLabel(d: DenoiserSummary): string {
  if (d.role === 'teacher') return `${d.id} (teacher, classifier-free guidance)`;
  return `${d.id} (student${d.method ? `, ${d.method}` : ''}, ${d.steps.join('/')} steps)`;
}

const randomSeed = (): number => Math.floor(Math.random() * 2 ** 31);

/** Prompt, model, steps, seed; Generate (with the reason when it is disabled) and Cancel. */
export function PromptForm({ onGenerate, onCancel }: { onGenerate: () => void; onCancel: () => void }) {
  const prompt = useStore(selectPrompt);
  const steps = useStore(selectSteps);
  const seed = useStore(selectSeed);
  const stepOptions = useStore(selectStepOptions);
  const denoiser = useStore(selectDenoiser);
  const denoisers = useStore((s) => s.manifest?.denoisers);
  const blocker = useStore(selectGenerateBlocker);
  const run = useStore(selectRun);
  const { setPrompt, setSteps, setSeed, setDenoiser } = useStore.getState();

  // Keep focus on a live control: Cancel while running, Generate when a run stops.
  const generateRef = useRef<HTMLButtonElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const running = run !== null;
  const wasRunning = useRef(false);
  useEffect(() => {
    const focusInForm = document.activeElement === document.body || document.activeElement === generateRef.current || document.activeElement === cancelRef.current;
    if (running && !wasRunning.current && focusInForm) cancelRef.current?.focus();
    if (!running && wasRunning.current && (document.activeElement === document.body || document.activeElement === cancelRef.current)) {
      generateRef.current?.focus();
    }
    wasRunning.current = running;
  }, [running]);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!blocker) onGenerate();
  };

  return (
    <form className="card prompt-form" onSubmit={onSubmit} aria-labelledby="prompt-heading">
      <h2 id="prompt-heading">Describe a sound</h2>
      <label htmlFor="prompt">Prompt</label>
      <textarea
        id="prompt"
        name="prompt"
        rows={3}
        value={prompt}
        placeholder="a dog barks while rain falls on a tin roof"
        onChange={(e) => setPrompt(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) onSubmit(e);
        }}
      />

      <div className="options">
        {denoisers && denoisers.length > 1 && (
          <div className="field">
            <label htmlFor="denoiser">Model</label>
            <select id="denoiser" value={denoiser?.id ?? ''} disabled={running} onChange={(e) => setDenoiser(e.target.value)}>
              {denoisers.map((d) => (
                <option key={d.id} value={d.id}>
                  {denoiserLabel(d)}
                </option>
              ))}
            </select>
          </div>
        )}
        <div className="field">
          <label htmlFor="steps">Steps</label>
          <select id="steps" value={steps} disabled={running} onChange={(e) => setSteps(Number(e.target.value))}>
            {stepOptions.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="seed">Seed</label>
          <div className="seed-row">
            <input
              id="seed"
              type="number"
              inputMode="numeric"
              min={0}
              step={1}
              value={seed}
              disabled={running}
              onChange={(e) => setSeed(e.target.valueAsNumber)}
            />
            <button type="button" className="secondary" disabled={running} onClick={() => setSeed(randomSeed())}>
              Random
            </button>
          </div>
        </div>
      </div>
      {denoiser?.guidance.type === 'classifier-free' && (
        <p className="hint muted">
          Classifier-free guidance at scale {denoiser.guidance.defaultScale}: each step evaluates the network twice.
        </p>
      )}

      <div className="actions">
        <button ref={generateRef} type="submit" className="primary" disabled={blocker !== null} aria-describedby="generate-reason">
          Generate
        </button>
        {running && (
          <button ref={cancelRef} type="button" onClick={onCancel} disabled={run.status === 'cancelling'}>
            Cancel
          </button>
        )}
        <p id="generate-reason" className="reason" data-testid="generate-reason" aria-live="polite">
          {blocker ?? ''}
        </p>
      </div>
    </form>
  );
}
