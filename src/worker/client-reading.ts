// The page's side of the prompt reading: the prompt box asks on every change, this waits until
// typing pauses (debounce), sends one 'read-prompt' for the latest prompt (again only when the
// prompt or the pack changed), and hands the store only the reply to the request it sent last.
// An empty prompt clears the reading without asking.

import type { PromptReading } from '../domain/prompt-reading';
import type { PromptReadingReply, ReadPromptRequest } from './protocol';

/** Milliseconds of no typing before the prompt is read. */
export const READ_DEBOUNCE_MS = 300;

export interface ReadingDeps {
  send(msg: ReadPromptRequest): void;
  nextId(): number;
  /** the store's action */
  received(reading: PromptReading | null): void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface PromptReadingClient {
  /** the prompt or the pack in use changed (`pack`: any key that changes with it) */
  read(prompt: string, pack: string): void;
  /** a 'prompt-reading' reply */
  onReply(reply: PromptReadingReply): void;
  /** an error reply for a read-prompt: the reading stays quiet (no alert) */
  onError(id: number | undefined): void;
}

export function createReadingClient(deps: ReadingDeps): PromptReadingClient {
  const setTimer = deps.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const clearTimer = deps.clearTimer ?? ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>));
  let timer: unknown = null;
  let asked: string | null = null;
  let lastId: number | null = null;

  return {
    read(prompt, pack) {
      if (timer !== null) clearTimer(timer);
      timer = null;
      if (prompt.trim() === '') {
        asked = null;
        lastId = null;
        deps.received(null);
        return;
      }
      const key = `${pack}\n${prompt}`;
      if (key === asked) return;
      timer = setTimer(() => {
        timer = null;
        asked = key;
        lastId = deps.nextId();
        deps.send({ type: 'read-prompt', id: lastId, prompt });
      }, READ_DEBOUNCE_MS);
    },
    onReply(reply) {
      if (reply.id === lastId) deps.received(reply.reading);
    },
    onError(id) {
      if (id === lastId) asked = null; // ask again on the next change
    },
  };
}
