// The shipped default student's int8 variant (factory int8_variant.py) on onnxruntime-web's WASM,
// the runtime the app picks it for: it loads in the student's place when asked for int8 (only its
// file, the rest float32), computes int8 (ORT runs its QDQ nodes), and the clip it makes stays
// close to the float32 graph's (same prompt, seed and 25 steps): its latent within a few percent,
// its log-mel far closer than another seed's clip. (Waveforms are not compared sample by sample:
// the vocoder's phases make a small change in the mel a large one in the samples.)
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { logMel } from '../engine/mel';
import { REPO_DIR } from '../testing/pack';
import { fsFetchFile } from './fs-fetch';
import type { OrtModule } from './ort';
import { Pipeline } from './pipeline';

let pack: string;
let web: OrtModule;

beforeAll(async () => {
  pack = join(REPO_DIR, 'public/models/soundstep-small-next'); // the app's default pack, which has the variant
  web = await import('onnxruntime-web');
  (web as unknown as { env: { wasm: { numThreads: number } } }).env.wasm.numThreads = 1;
}, 120_000);

/** mean |a - b| */
function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d += Math.abs(a[i]! - b[i]!);
  return d / b.length;
}

/** sqrt(mean (a - b)^2) / sqrt(mean b^2) */
function relativeRms(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    r += b[i]! ** 2;
  }
  return Math.sqrt(d / r);
}

describe('the default student in int8 arithmetic (WASM)', () => {
  it('loads in place of the float32 graph and makes the same clip within a few percent', async () => {
    const files: string[] = [];
    const load = (precision: 'float32' | 'int8'): Promise<Pipeline> =>
      Pipeline.load({
        ort: web,
        backend: 'wasm',
        fetchFile: fsFetchFile(pack),
        precision,
        onFile: (e) => {
          if (e.done && precision === 'int8') files.push(e.file);
        },
      });
    const [int8, float32] = [await load('int8'), await load('float32')];
    try {
      const student = int8.manifest.denoisers.find((d) => d.id === int8.manifest.default_denoiser)!;
      const variant = student.variants?.find((v) => v.dtype === 'int8');
      expect(variant?.file).toBe(student.file.replace(/\.onnx$/, '.int8.onnx'));
      const request = { prompt: 'a dog barks', denoiserId: student.id, steps: 25, guidanceScale: 1, seed: 3 };
      const [a, b] = [await int8.generate(request), await float32.generate(request)];
      const otherSeed = await float32.generate({ ...request, seed: 4 });
      // the student came from the variant's file, not its own
      expect(files).toContain(variant!.file);
      expect(files).not.toContain(student.file);
      const latentError = relativeRms(a.latent, b.latent);
      const mel = (w: Float32Array): Float32Array => logMel(w, int8.manifest.audio).data;
      const melError = meanAbsDiff(mel(a.waveform), mel(b.waveform));
      const seedChange = meanAbsDiff(mel(otherSeed.waveform), mel(b.waveform));
      console.log(`int8 variant against float32, 25 steps: latent ${latentError.toFixed(4)} (relative RMS), ` +
        `log-mel ${melError.toFixed(3)} (mean |difference|; another seed: ${seedChange.toFixed(3)})`);
      expect(latentError).toBeGreaterThan(0); // it is another computation
      expect(latentError).toBeLessThan(0.15);
      expect(melError).toBeLessThan(0.25 * seedChange);
    } finally {
      await int8.dispose();
      await float32.dispose();
    }
  }, 240_000);
});
