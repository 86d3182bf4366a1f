// One denoiser evaluation on golden.json's first step, through the page's worker client
// (window.__soundstep): shared by the WebGPU parity and weight-variant tests.

import type { Page } from '@playwright/test';
import type { DenoiseOnceRequest } from '../src/worker/protocol';

export interface Evaluation {
  backend: string;
  ms: number;
  output: number[];
  hidden: number[];
  golden: number[];
}

/**
 * Run denoise-once in `page` on the first step (both rows) of the golden.json at `goldenUrl` (the
 * loaded pack's, relative to the page); with `hidden` the text encoder is skipped and those hidden
 * states are used. `golden` is [v_cond, v_uncond].
 */
export async function evaluateFirstStep(page: Page, goldenUrl: string, hidden?: number[]): Promise<Evaluation> {
  return page.evaluate(async ({ url, given }) => {
    interface Golden {
      trajectory: {
        denoiser: string;
        input_ids: number[][];
        attention_mask: number[][];
        noise: number[];
        timesteps: number[];
        v_cond: number[][];
        v_uncond: number[][];
      };
    }
    type Hook = {
      client: {
        denoiseOnce(input: Omit<DenoiseOnceRequest, 'type' | 'id'>): Promise<{ output: Float32Array; hidden: Float32Array; backend: string; ms: number }>;
      };
    };
    const hook = (window as Window & { __soundstep?: Hook }).__soundstep;
    if (!hook) throw new Error('window.__soundstep is missing');
    const golden = (await (await fetch(url)).json()) as Golden;
    const t = golden.trajectory;
    const [vCond, vUncond] = [t.v_cond[0], t.v_uncond[0]];
    const [timestep] = t.timesteps;
    if (!vCond || !vUncond || timestep === undefined) throw new Error('golden.json has no first step');
    const r = await hook.client.denoiseOnce({
      denoiserId: t.denoiser,
      sample: Float32Array.from([...t.noise, ...t.noise]), // the same z_t in both rows
      timestep,
      inputIds: BigInt64Array.from(t.input_ids.flat().map((x) => BigInt(x))),
      attentionMask: BigInt64Array.from(t.attention_mask.flat().map((x) => BigInt(x))),
      batch: 2,
      hidden: given ? Float32Array.from(given) : undefined,
    });
    return {
      backend: r.backend,
      ms: r.ms,
      output: Array.from(r.output),
      hidden: Array.from(r.hidden),
      golden: [...vCond, ...vUncond],
    };
  }, { url: goldenUrl, given: hidden });
}

/** max |a_i - b_i| (NaN-safe: a length mismatch or a missing value gives NaN). */
export function maxAbsDiff(a: number[], b: number[]): number {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}
