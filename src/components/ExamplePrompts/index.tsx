import { useRef, useState, type KeyboardEvent } from 'react';
import { useStore, type AppState } from '../../store';
import type { VocabularyEntry } from '../../runtime/pack-types';
import { groupExamples, rovingIndex } from './examples';

const NO_VOCABULARY: VocabularyEntry[] = [];
const selectVocabulary = (s: AppState): VocabularyEntry[] => s.manifest?.vocabulary ?? NO_VOCABULARY;
const selectPromptBefore = (s: AppState): string | null => s.promptBefore;

/**
 * The sounds the pack was trained on, as example prompts by category (a few each, "more" for
 * the rest). A click fills the prompt box and never generates; a prompt the user typed comes back
 * with Undo. The chips are one Tab stop: arrow keys, Home and End move inside the group.
 */
export function ExamplePrompts({ disabled }: { disabled: boolean }) {
  const vocabulary = useStore(selectVocabulary);
  const promptBefore = useStore(selectPromptBefore);
  const { exampleChosen, exampleUndone } = useStore.getState();
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [active, setActive] = useState(0);
  const buttons = useRef<Array<HTMLButtonElement | null>>([]);
  if (vocabulary.length === 0) return null;

  const groups = groupExamples(vocabulary, expanded);
  const count = groups.reduce((n, g) => n + g.chips.length + (g.hidden > 0 || expanded.has(g.category) ? 1 : 0), 0);
  const current = Math.min(active, count - 1);
  const onKeyDown = (e: KeyboardEvent) => {
    const next = rovingIndex(e.key, current, count);
    if (next === null) return;
    e.preventDefault();
    setActive(next);
    buttons.current[next]?.focus();
  };
  let index = 0;
  // each focusable button of the group: its place in the roving order, its ref and tab stop
  const stop = () => {
    const i = index++;
    return { ref: (el: HTMLButtonElement | null) => void (buttons.current[i] = el), tabIndex: i === current ? 0 : -1, onFocus: () => setActive(i) };
  };
  const toggle = (category: string) =>
    setExpanded((old) => {
      const out = new Set(old);
      if (!out.delete(category)) out.add(category);
      return out;
    });

  return (
    <div className="examples">
      <div role="toolbar" aria-label="Example sounds this pack was trained on (click one to fill the box)" className="example-groups" onKeyDown={onKeyDown}>
        {groups.map((g) => (
          <div key={g.category} className="example-group" data-testid={`examples-${g.category}`}>
            <span className="example-category muted">{g.category}</span>
            {g.chips.map((c) => (
              <button
                key={c.key}
                type="button"
                className="chip"
                title={`${c.name}: fills the prompt box`}
                disabled={disabled}
                data-testid={`example-${c.key}`}
                onClick={() => exampleChosen(c.prompt)}
                {...stop()}
              >
                {c.prompt}
              </button>
            ))}
            {(g.hidden > 0 || expanded.has(g.category)) && (
              <button type="button" className="chip more" aria-expanded={expanded.has(g.category)} onClick={() => toggle(g.category)} {...stop()}>
                {expanded.has(g.category) ? 'fewer' : `${g.hidden} more`}
                <span className="visually-hidden"> {g.category} examples</span>
              </button>
            )}
          </div>
        ))}
      </div>
      <p className="example-undo" role="status" data-testid="example-undo">
        {promptBefore !== null && (
          <>
            An example replaced your prompt.{' '}
            <button type="button" className="secondary" onClick={exampleUndone}>
              Undo
            </button>
          </>
        )}
      </p>
    </div>
  );
}
