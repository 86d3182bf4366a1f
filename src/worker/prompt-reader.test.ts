// The worker's prompt reader with a fake pack: which example is nearest, the vocabulary embedded
// once, and never running while the worker has a request queued or running.
import { describe, expect, it } from 'vitest';
import type { VocabularyEntry } from '../runtime/pack-types';
import { PromptReader, READ_BATCH, type ReadablePack } from './prompt-reader';
import type { WorkerReply } from './protocol';

const WORDS = ['piano', 'dog', 'man', 'speaks', 'plays', 'melody', 'barks'];
/** A bag of known words: the fake encoder's "sentence embedding". */
const bag = (text: string): Float32Array => Float32Array.from(WORDS, (w) => (text.split(' ').includes(w) ? 1 : 0));

const entry = (key: string, category: string, ...examples: string[]): VocabularyEntry => ({ key, name: key, category, examples });
// 3 + 2 * 5 = 13 examples: two batches of READ_BATCH (8)
const vocabulary = [
  entry('piano', 'music', 'a piano plays a melody', 'a piano playing a melody', 'piano'),
  ...['man', 'dog', 'cat', 'cow', 'owl'].map((k) => entry(k, 'x', `a ${k} speaks`, `a ${k} barks`)),
];

function fakePack(vocab: VocabularyEntry[] = vocabulary) {
  const calls: string[][] = [];
  const pack: ReadablePack = {
    manifest: { vocabulary: vocab },
    promptTokenizer: { unknownWords: (t) => t.split(' ').filter((w) => /[^\x20-\x7e]/.test(w)) },
    embedPrompts: async (prompts) => {
      calls.push([...prompts]);
      return prompts.map(bag);
    },
  };
  return { pack, calls };
}

function reader(pack: ReadablePack | null) {
  const replies: WorkerReply[] = [];
  let busy = false;
  const r = new PromptReader({ pack: () => pack, busy: () => busy, post: (x) => void replies.push(x) });
  return { r, replies, setBusy: (b: boolean) => (busy = b) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('PromptReader', () => {
  it('names the nearest example, its similarity and the unknown words; embeds the vocabulary once', async () => {
    const { pack, calls } = fakePack();
    const { r, replies } = reader(pack);
    r.request({ type: 'read-prompt', id: 1, prompt: 'a piano plays a melody' });
    await settle();
    r.request({ type: 'read-prompt', id: 2, prompt: 'a dog barks 🐶' });
    await settle();
    expect(replies).toEqual([
      { status: 'prompt-reading', id: 1, reading: { prompt: 'a piano plays a melody', similarity: 1, nearest: { key: 'piano', name: 'piano', example: 'a piano plays a melody' }, unknownWords: [] } },
      { status: 'prompt-reading', id: 2, reading: { prompt: 'a dog barks 🐶', similarity: 1, nearest: { key: 'dog', name: 'dog', example: 'a dog barks' }, unknownWords: ['🐶'] } },
    ]);
    // the 13 examples in batches of READ_BATCH, then one call per prompt
    expect(calls.map((c) => c.length)).toEqual([READ_BATCH, 13 - READ_BATCH, 1, 1]);
  });

  it('waits while the worker is busy, stops between batches when it gets busy, resumes on kick()', async () => {
    const { pack, calls } = fakePack();
    const { r, replies, setBusy } = reader(pack);
    setBusy(true);
    r.request({ type: 'read-prompt', id: 1, prompt: 'a man speaks' });
    await settle();
    expect(calls).toEqual([]); // a generation is queued: nothing runs
    setBusy(false);
    r.kick();
    setBusy(true); // a generation arrives while the first batch is running
    await settle();
    expect(calls.map((c) => c.length)).toEqual([READ_BATCH]); // one batch, then it stepped aside
    expect(replies).toEqual([]);
    setBusy(false);
    r.kick();
    await settle();
    expect(calls.map((c) => c.length)).toEqual([READ_BATCH, 13 - READ_BATCH, 1]); // picked up where it stopped
    expect(replies).toMatchObject([{ status: 'prompt-reading', id: 1, reading: { nearest: { key: 'man' }, similarity: 1 } }]);
  });

  it('keeps only the newest request; a pack without vocabulary reads the unknown words alone', async () => {
    const { pack } = fakePack([]);
    const { r, replies, setBusy } = reader(pack);
    setBusy(true);
    r.request({ type: 'read-prompt', id: 1, prompt: 'one' });
    r.request({ type: 'read-prompt', id: 2, prompt: 'two ✨' });
    setBusy(false);
    r.kick();
    await settle();
    expect(replies).toEqual([{ status: 'prompt-reading', id: 2, reading: { prompt: 'two ✨', similarity: null, nearest: null, unknownWords: ['✨'] } }]);
  });

  it('answers an error reply for read-prompt when no pack is loaded', async () => {
    const { r, replies } = reader(null);
    r.request({ type: 'read-prompt', id: 5, prompt: 'a piano' });
    await settle();
    expect(replies).toMatchObject([{ status: 'error', id: 5, during: 'read-prompt', recoverable: true, message: 'No model pack is loaded.' }]);
  });
});
