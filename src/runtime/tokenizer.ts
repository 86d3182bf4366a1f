// Prompt tokenization over @huggingface/tokenizers (pure JS; the same library in the browser and
// in Node). The shipped encoder is all-MiniLM-L6-v2: BERT WordPiece, lowercase, [CLS] ... [SEP].
// Mirrors factory/soundstep_factory/text.py encode_prompts() exactly.

import { Tokenizer } from '@huggingface/tokenizers';

export interface EncodedPrompt {
  /** int64 [maxTokens], padded with padId */
  inputIds: BigInt64Array;
  /** int64 [maxTokens]: 1 for real tokens, 0 for padding */
  attentionMask: BigInt64Array;
  /** tokens the prompt produced, special tokens included, before truncation */
  tokenCount: number;
  /** true when tokenCount > maxTokens and the prompt was cut */
  truncated: boolean;
}

/**
 * The words of `text` (split at whitespace, each once, in order) that `tokenize` turns into the
 * unknown token `unk`, in whole or in part: emoji, scripts the vocabulary lacks. None without an `unk`.
 */
export function findUnknownWords(text: string, tokenize: (word: string) => string[], unk: string | null): string[] {
  if (unk === null) return [];
  const words = [...new Set(text.split(/\s+/).filter((w) => w !== ''))];
  return words.filter((w) => tokenize(w).includes(unk));
}

/** The unknown token a tokenizer.json (or its config) names, e.g. "[UNK]"; null when it has none. */
function unknownToken(tokenizerJson: object, tokenizerConfig: object): string | null {
  const model = (tokenizerJson as { model?: { unk_token?: unknown } }).model;
  const token = model?.unk_token ?? (tokenizerConfig as { unk_token?: unknown }).unk_token;
  return typeof token === 'string' ? token : null;
}

export class PromptTokenizer {
  private readonly tokenizer: Tokenizer;
  /** the token words outside the vocabulary become ("[UNK]"); null when the tokenizer has none */
  readonly unkToken: string | null;

  constructor(tokenizerJson: object, tokenizerConfig: object) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    this.unkToken = unknownToken(tokenizerJson, tokenizerConfig);
  }

  /** From the bytes of tokenizer.json and tokenizer_config.json. */
  static fromBytes(tokenizerJson: Uint8Array, tokenizerConfig: Uint8Array): PromptTokenizer {
    const decoder = new TextDecoder();
    return new PromptTokenizer(
      JSON.parse(decoder.decode(tokenizerJson)) as object,
      JSON.parse(decoder.decode(tokenizerConfig)) as object,
    );
  }

  /** Token ids with the special tokens ([CLS] ... [SEP]), no padding, no truncation. */
  ids(text: string): number[] {
    return this.tokenizer.encode(text).ids;
  }

  tokens(text: string): string[] {
    return this.tokenizer.encode(text).tokens;
  }

  /** The words of `text` the tokenizer reads as its unknown token (findUnknownWords). */
  unknownWords(text: string): string[] {
    return findUnknownWords(text, (w) => this.tokenizer.tokenize(w, { add_special_tokens: false }), this.unkToken);
  }

  /** Padded to maxTokens with padId; a longer prompt keeps its first maxTokens - 1 tokens and its final [SEP]. */
  encodePrompt(text: string, maxTokens: number, padId: number): EncodedPrompt {
    if (!Number.isInteger(maxTokens) || maxTokens < 2) throw new RangeError(`maxTokens must be >= 2, got ${maxTokens}`);
    let ids = this.ids(text);
    const tokenCount = ids.length;
    const truncated = tokenCount > maxTokens;
    if (truncated) ids = [...ids.slice(0, maxTokens - 1), ids[ids.length - 1]!];
    const inputIds = new BigInt64Array(maxTokens).fill(BigInt(padId));
    const attentionMask = new BigInt64Array(maxTokens);
    ids.forEach((id, i) => {
      inputIds[i] = BigInt(id);
      attentionMask[i] = 1n;
    });
    return { inputIds, attentionMask, tokenCount, truncated };
  }
}

/** Rows of encodePrompt() stacked into [prompts.length, maxTokens] int64 arrays. */
export function encodeBatch(
  tokenizer: PromptTokenizer,
  prompts: readonly string[],
  maxTokens: number,
  padId: number,
): { inputIds: BigInt64Array; attentionMask: BigInt64Array; rows: EncodedPrompt[] } {
  const rows = prompts.map((p) => tokenizer.encodePrompt(p, maxTokens, padId));
  const inputIds = new BigInt64Array(prompts.length * maxTokens);
  const attentionMask = new BigInt64Array(prompts.length * maxTokens);
  rows.forEach((r, i) => {
    inputIds.set(r.inputIds, i * maxTokens);
    attentionMask.set(r.attentionMask, i * maxTokens);
  });
  return { inputIds, attentionMask, rows };
}
