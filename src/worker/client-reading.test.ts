import { describe, expect, it } from 'vitest';
import { createReadingClient, READ_DEBOUNCE_MS } from './client-reading';
import type { PromptReading } from '../domain/prompt-reading';
import type { ReadPromptRequest } from './protocol';

/** A reading client with hand-driven timers: `tick()` runs the pending one. */
function harness() {
  const sent: ReadPromptRequest[] = [];
  const received: Array<PromptReading | null> = [];
  let pending: { fn: () => void; ms: number } | null = null;
  let id = 10;
  const client = createReadingClient({
    send: (m) => void sent.push(m),
    nextId: () => id++,
    received: (r) => void received.push(r),
    setTimer: (fn, ms) => (pending = { fn, ms }),
    clearTimer: () => (pending = null),
  });
  const tick = () => {
    const p = pending;
    pending = null;
    p?.fn();
    return p?.ms ?? null;
  };
  return { client, sent, received, tick, hasTimer: () => pending !== null };
}

const reading = (prompt: string): PromptReading => ({ prompt, similarity: 0.9, nearest: null, unknownWords: [] });

describe('prompt reading client', () => {
  it('asks once typing pauses, for the last prompt only', () => {
    const h = harness();
    h.client.read('a pi', 'pack');
    h.client.read('a piano', 'pack');
    expect(h.sent).toEqual([]);
    expect(h.tick()).toBe(READ_DEBOUNCE_MS);
    expect(h.sent).toEqual([{ type: 'read-prompt', id: 10, prompt: 'a piano' }]);
  });

  it('hands the store only the reply to the request sent last', () => {
    const h = harness();
    h.client.read('a piano', 'pack');
    h.tick();
    h.client.read('a harp', 'pack');
    h.tick();
    h.client.onReply({ status: 'prompt-reading', id: 10, reading: reading('a piano') }); // stale
    h.client.onReply({ status: 'prompt-reading', id: 11, reading: reading('a harp') });
    expect(h.received).toEqual([reading('a harp')]);
  });

  it('does not ask again for the same prompt and pack; another pack, or an error, asks again', () => {
    const h = harness();
    h.client.read('a piano', 'pack A');
    h.tick();
    h.client.read('a piano', 'pack A');
    expect(h.hasTimer()).toBe(false);
    h.client.read('a piano', 'pack B');
    h.tick();
    expect(h.sent.map((m) => m.id)).toEqual([10, 11]);
    h.client.onError(11);
    h.client.read('a piano', 'pack B');
    h.tick();
    expect(h.sent.map((m) => m.id)).toEqual([10, 11, 12]);
  });

  it('an empty prompt clears the reading at once and sends nothing', () => {
    const h = harness();
    h.client.read('a piano', 'pack');
    h.client.read('   ', 'pack');
    expect(h.hasTimer()).toBe(false);
    expect(h.sent).toEqual([]);
    expect(h.received).toEqual([null]);
  });
});
