import { useEffect, useRef, type FormEvent } from 'react';
import { selectGenerateBlocker, selectJob, selectPrompt, selectRun, useStore } from '../../store';
import { GenerationControls } from '../GenerationControls';
import { ExamplePrompts } from '../ExamplePrompts';
import { PromptReading } from '../PromptReading';

/** Prompt and the generation controls; Generate (Ctrl/Cmd+Enter, with the reason when it is disabled) and Cancel. */
export function PromptForm({
  onGenerate,
  onCancel,
  onReadPrompt,
}: {
  onGenerate: () => void;
  onCancel: () => void;
  /** ask the worker how close a prompt is to what the pack knows (debounced by the client) */
  onReadPrompt: (prompt: string, pack: string) => void;
}) {
  const prompt = useStore(selectPrompt);
  const blocker = useStore(selectGenerateBlocker);
  const run = useStore(selectRun);
  const job = useStore(selectJob);
  const { setPrompt } = useStore.getState();

  // Keep focus on a live control: Cancel while running, Generate when a run stops.
  const generateRef = useRef<HTMLButtonElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const running = run !== null || job !== null;
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
        aria-describedby="prompt-help prompt-reading"
        onChange={(e) => setPrompt(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) onSubmit(e);
        }}
      />
      <p id="prompt-help" className="hint muted">
        Ctrl+Enter (⌘+Enter on a Mac) generates.
      </p>
      <PromptReading id="prompt-reading" onRead={onReadPrompt} />
      <ExamplePrompts disabled={running} />

      <GenerationControls disabled={running} />

      <div className="actions">
        <button ref={generateRef} type="submit" className="primary" disabled={blocker !== null} aria-describedby="generate-reason">
          Generate
        </button>
        {running && (
          <button ref={cancelRef} type="button" onClick={onCancel} disabled={run?.status === 'cancelling'}>
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
