// The prompt reading in the worker: how close a prompt is to what the loaded pack was trained on,
// by the pack's own text encoder. The vocabulary's example prompts are embedded once per pack
// (in batches, kept per pipeline), the prompt once per request; the reading is the cosine of the
// mean-pooled hidden states (engine/embedding.ts) against the nearest example, and the words the
// tokenizer reads as unknown.
//
// It never holds up a generation: it starts only when the worker has nothing queued or running
// (`busy`), stops between batches as soon as something is, and picks up where it stopped when
// the worker is idle again (the router calls kick()). Only the newest request is kept.

import { nearest } from '../engine/embedding';
import type { PromptReading } from '../domain/prompt-reading';
import type { VocabularyEntry } from '../runtime/pack-types';
import type { ReadPromptRequest, WorkerReply } from './protocol';
import { errorReply } from './worker-context';

/** Example prompts embedded per encoder run. */
export const READ_BATCH = 8;

/** What the reader needs of the loaded pack (a Pipeline; a fake in tests). */
export interface ReadablePack {
  readonly manifest: { vocabulary?: VocabularyEntry[] };
  readonly promptTokenizer: { unknownWords(text: string): string[] };
  embedPrompts(prompts: readonly string[], signal?: AbortSignal, batchSize?: number): Promise<Float32Array[]>;
}

export interface ReaderHost {
  /** the pack in use, or null */
  pack(): ReadablePack | null;
  /** true while a load, generation or other request is queued or running */
  busy(): boolean;
  post(reply: WorkerReply): void;
}

/** The example prompts of a pack and their embeddings so far (filled batch by batch). */
interface VocabIndex {
  examples: Array<{ entry: VocabularyEntry; example: string }>;
  vectors: Float32Array[];
}

export class PromptReader {
  private latest: ReadPromptRequest | null = null;
  private running = false;
  private readonly indexes = new WeakMap<ReadablePack, VocabIndex>();

  constructor(private readonly host: ReaderHost) {}

  /** A new request replaces one that has not run yet. */
  request(msg: ReadPromptRequest): void {
    this.latest = msg;
    this.kick();
  }

  /** Start (or resume) when there is a request and the worker is idle. */
  kick(): void {
    if (!this.running && this.latest && !this.host.busy()) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    let msg: ReadPromptRequest | null = null;
    try {
      while (this.latest && !this.host.busy()) {
        msg = this.latest;
        const pack = this.host.pack();
        if (!pack) throw new Error('No model pack is loaded.');
        const reading = await this.read(pack, msg.prompt);
        if (reading === null) break; // the worker got busy: kick() resumes later
        if (this.latest !== msg) continue; // a newer prompt arrived meanwhile: read that one
        this.latest = null;
        this.host.post({ status: 'prompt-reading', id: msg.id, reading });
      }
    } catch (e) {
      if (msg && this.latest === msg) this.latest = null;
      if (msg) this.host.post(errorReply(e, 'read-prompt', { id: msg.id, recoverable: true }));
    } finally {
      this.running = false;
    }
  }

  /** The reading, or null when the worker got busy before it was done. */
  private async read(pack: ReadablePack, prompt: string): Promise<PromptReading | null> {
    const index = await this.embedVocabulary(pack);
    if (index === null || this.host.busy()) return null;
    const unknownWords = pack.promptTokenizer.unknownWords(prompt);
    if (index.examples.length === 0) return { prompt, similarity: null, nearest: null, unknownWords };
    const [vector] = await pack.embedPrompts([prompt]);
    const best = vector ? nearest(vector, index.vectors) : null;
    const hit = best ? index.examples[best.index] : undefined;
    if (!best || !hit) return { prompt, similarity: null, nearest: null, unknownWords };
    return { prompt, similarity: best.similarity, nearest: { key: hit.entry.key, name: hit.entry.name, example: hit.example }, unknownWords };
  }

  /** Embeds the examples not embedded yet, a batch at a time; null when the worker got busy first. */
  private async embedVocabulary(pack: ReadablePack): Promise<VocabIndex | null> {
    let index = this.indexes.get(pack);
    if (!index) {
      const examples = (pack.manifest.vocabulary ?? []).flatMap((entry) => entry.examples.map((example) => ({ entry, example })));
      index = { examples, vectors: [] };
      this.indexes.set(pack, index);
    }
    while (index.vectors.length < index.examples.length) {
      if (this.host.busy()) return null;
      const batch = index.examples.slice(index.vectors.length, index.vectors.length + READ_BATCH).map((x) => x.example);
      index.vectors.push(...(await pack.embedPrompts(batch, undefined, READ_BATCH)));
    }
    return index;
  }
}
