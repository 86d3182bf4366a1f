// The warm-up pass before a pack is ready: each loaded session runs once on dummy inputs of the
// shapes generate() uses (a guided teacher runs batch 2, a student batch 1). First runs allocate
// memory and, on WebGPU, compile the shaders for those shapes, so the user's first generation is
// not the slow one.

import type { DenoiserSpec } from './manifest';
import type { Pipeline } from './pipeline';

/** Rows of `batch` empty prompts: the pad token everywhere, one attended position per row. */
function emptyRows(pipeline: Pipeline, batch: number): { ids: BigInt64Array; mask: BigInt64Array } {
  const { max_tokens: L, pad_token_id: pad } = pipeline.manifest.text;
  const ids = new BigInt64Array(batch * L).fill(BigInt(pad));
  const mask = new BigInt64Array(batch * L);
  for (let r = 0; r < batch; r++) mask[r * L] = 1n;
  return { ids, mask };
}

/**
 * Runs the text encoder, each loaded denoiser, the VAE decoder and the vocoder once; returns the
 * milliseconds it took. Only the loaded denoisers: one created on first use is not warmed, since
 * its first generation's runs compile its shaders, which a warm-up run would only move earlier
 * in the same wait.
 */
export async function warmUp(pipeline: Pipeline): Promise<number> {
  const t0 = performance.now();
  const m = pipeline.manifest;
  const size = m.latent.channels * m.latent.frames * m.latent.bins;
  const batchOf = (d: DenoiserSpec): number => (d.role === 'teacher' ? 2 : 1);
  const loaded = m.denoisers.filter((d) => pipeline.hasDenoiser(d.id));
  for (const batch of new Set(loaded.map(batchOf))) {
    const { ids, mask } = emptyRows(pipeline, batch);
    const hidden = await pipeline.encodeText(ids, mask, batch);
    for (const d of loaded.filter((e) => batchOf(e) === batch)) {
      await pipeline.denoiseOnce(d.id, new Float32Array(batch * size), 0, hidden, mask, batch);
    }
  }
  await pipeline.vocode(await pipeline.decodeLatent(new Float32Array(size)));
  return performance.now() - t0;
}
