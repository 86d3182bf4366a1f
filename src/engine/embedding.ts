// Sentence embeddings from the text encoder's hidden states, and how close two of them are.
// The prompt reading (src/domain/prompt-reading.ts) compares a prompt with the pack's example
// prompts this way: the attention-masked mean of the last hidden state (all-MiniLM-L6-v2's own
// pooling), compared by cosine similarity. Pure math, unit-tested.

/**
 * Mean over the real tokens of each row: hidden [batch, L, H], mask [batch, L] (1 token, 0 padding)
 * -> [batch] vectors of H. A row without tokens is all zeros.
 */
export function meanPool(hidden: Float32Array, mask: BigInt64Array, batch: number, hiddenSize: number): Float32Array[] {
  const L = mask.length / batch;
  if (!Number.isInteger(L) || hidden.length !== batch * L * hiddenSize) {
    throw new RangeError(`hidden (${hidden.length}) and mask (${mask.length}) do not make ${batch} rows of [L, ${hiddenSize}]`);
  }
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const v = new Float64Array(hiddenSize);
    let n = 0;
    for (let t = 0; t < L; t++) {
      if (mask[b * L + t] === 0n) continue;
      n++;
      const at = (b * L + t) * hiddenSize;
      for (let h = 0; h < hiddenSize; h++) v[h]! += hidden[at + h]!;
    }
    out.push(Float32Array.from(v, (x) => (n > 0 ? x / n : 0)));
  }
  return out;
}

/** Cosine similarity of a and b in -1..1; 0 when either is all zeros. */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`vectors of ${a.length} and ${b.length} values`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** The row of `rows` most similar to `v` (first of equals), or null when there are none. */
export function nearest(v: Float32Array, rows: readonly Float32Array[]): { index: number; similarity: number } | null {
  let best: { index: number; similarity: number } | null = null;
  rows.forEach((r, index) => {
    const similarity = cosine(v, r);
    if (!best || similarity > best.similarity) best = { index, similarity };
  });
  return best;
}
