// Clicking an example prompt fills the prompt box, never losing what the user typed: the typed
// text is kept for Undo. Pure (the form slice applies it), so it is unit-tested.

/** The prompt box after an example is clicked, and what Undo brings back (null: nothing to undo). */
export interface ExampleFill {
  prompt: string;
  promptBefore: string | null;
}

/**
 * Clicking an example puts it in the box. A prompt the user typed is kept for Undo; while the box
 * still holds an unedited example (`promptBefore` is set), the typed text stays the one Undo restores.
 */
export function fillExample(current: { prompt: string; promptBefore: string | null }, example: string): ExampleFill {
  if (current.promptBefore !== null) return { prompt: example, promptBefore: current.promptBefore };
  const typed = current.prompt.trim() !== '' && current.prompt !== example;
  return { prompt: example, promptBefore: typed ? current.prompt : null };
}
