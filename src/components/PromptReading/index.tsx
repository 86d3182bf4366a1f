import { useEffect } from 'react';
import { readingView } from '../../domain/prompt-reading';
import { selectPrompt, useStore, type AppState } from '../../store';

/** The pack in use, as a key that changes when another pack is ready (its encoder and vocabulary differ). */
const selectPackKey = (s: AppState): string | null => (s.loadStatus === 'ready' && s.manifest ? `${s.packUrl}#${s.manifest.id}` : null);
const selectReading = (s: AppState) => s.promptReading;

/**
 * A quiet line under the prompt: how close it is to what the pack was trained on (near / far,
 * the nearest known sound named), and a plain sentence for words the model cannot read. Read by
 * the worker once typing pauses; it never blocks Generate and refuses nothing.
 */
export function PromptReading({ id, onRead }: { id: string; onRead: (prompt: string, pack: string) => void }) {
  const prompt = useStore(selectPrompt);
  const packKey = useStore(selectPackKey);
  const reading = useStore(selectReading);

  // every change of the prompt, or of the pack (another encoder and vocabulary); the client debounces
  useEffect(() => {
    if (packKey !== null) onRead(prompt, packKey);
  }, [prompt, packKey, onRead]);

  const view = reading && prompt.trim() !== '' ? readingView(reading) : null;
  return (
    <p
      id={id}
      className="reading muted"
      data-testid="prompt-reading"
      data-closeness={view?.closeness ?? ''}
      data-for={reading?.prompt ?? ''}
      data-stale={reading !== null && reading.prompt !== prompt}
    >
      {view?.text && (
        <span className="reading-closeness">
          <span className={`reading-dot ${view.closeness ?? ''}`} aria-hidden="true" />
          {view.text}
        </span>
      )}
      {view?.unknown && (
        <span className="reading-unknown" data-testid="prompt-unknown">
          {' '}
          {view.unknown}
        </span>
      )}
    </p>
  );
}
