// The shipped pack repacked by the factory (external-data files, float16 variants) loads in
// Node the two ways the app's engine can: onnxruntime-node from file paths (it reads the
// external data next to each graph: the CLI's way) and onnxruntime-web's WASM from bytes with
// the `externalData` session option (the browser's way). float32 graphs give the shipped
// pack's numbers exactly; the float16 variants stay within the factory's tolerance; a graph
// whose inputs are not float32 is refused by name.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, ortNode, requirePack } from '../testing/pack';
import { ensureRepackedPack } from '../testing/repacked';
import { PackError } from './errors';
import { fsFetchFile } from './fs-fetch';
import type { OrtModule } from './ort';
import { Pipeline } from './pipeline';

const REQUEST = { prompt: 'a dog barks', denoiserId: 'teacher', steps: 10, guidanceScale: 3, seed: 5 };
/** max |v_float16 - v_float32|: repack.py FLOAT16_TOLERANCE['denoiser'] */
const FLOAT16_TOLERANCE = 2e-2;

let shipped: string;
let repacked: string;
let ort: OrtModule;

beforeAll(async () => {
  shipped = requirePack();
  repacked = ensureRepackedPack();
  ort = await ortNode();
}, 120_000);

/** onnxruntime-node, sessions from file paths (as src/cli/main.ts), every graph up front (each variant is checked). */
function loadNode(dir: string, precision: 'float32' | 'float16' = 'float32', module: OrtModule = ort): Promise<Pipeline> {
  return Pipeline.load({
    eager: true,
    ort: module,
    backend: 'cpu',
    fetchFile: fsFetchFile(dir),
    sessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: 1 },
    modelPath: (file) => join(dir, ...file.split('/')),
    precision,
  });
}

/** The golden-like inputs of one denoiser evaluation, batch 2. */
async function firstStep(p: Pipeline): Promise<Float32Array> {
  const m = p.manifest;
  const L = m.text.max_tokens;
  const { inputIds, attentionMask } = await import('./tokenizer').then(({ encodeBatch }) =>
    encodeBatch(p.promptTokenizer, ['a dog barks', ''], L, m.text.pad_token_id),
  );
  const hidden = await p.encodeText(inputIds, attentionMask, 2);
  const size = m.latent.channels * m.latent.frames * m.latent.bins;
  const sample = Float32Array.from({ length: 2 * size }, (_, i) => Math.sin(i * 0.37));
  return p.denoiseOnce('teacher', sample, 999, hidden, attentionMask, 2);
}

describe('a repacked pack (external data, float16 variants)', () => {
  it('onnxruntime-node from paths: float32 external-data graphs generate the shipped audio exactly', async () => {
    const a = await loadNode(shipped);
    const b = await loadNode(repacked);
    try {
      const files = ['text_encoder.onnx', ...b.manifest.denoisers.map((d) => d.file), 'vae_decoder.onnx', 'vocoder.onnx'];
      expect(files).toContain('denoisers/teacher.onnx');
      expect(b.loadReport?.graphs.map((g) => [g.file, g.dtype, g.externalData])).toEqual(
        files.map((file) => [file, 'float32', [`${file}.data`]]),
      );
      const [wa, wb] = [await a.generate(REQUEST), await b.generate(REQUEST)];
      expect(maxAbsDiff(wa.waveform, wb.waveform)).toBe(0);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }, 120_000);

  it('onnxruntime-web (WASM) from bytes with externalData gives the same v as onnxruntime-node', async () => {
    const web = await import('onnxruntime-web');
    web.env.wasm.numThreads = 1;
    const w = await Pipeline.load({ ort: web, backend: 'wasm', fetchFile: fsFetchFile(repacked) });
    const n = await loadNode(shipped);
    try {
      const diff = maxAbsDiff(await firstStep(w), await firstStep(n));
      console.log(`external data via onnxruntime-web: max |v_web - v_node| = ${diff.toExponential(3)}`);
      expect(diff).toBeLessThan(1e-4);
    } finally {
      await w.dispose();
      await n.dispose();
    }
  }, 180_000);

  it('loads the float16 variants when asked, only their files, within the tolerance', async () => {
    const files: string[] = [];
    const half = await Pipeline.load({
      ort,
      backend: 'cpu',
      eager: true,
      fetchFile: fsFetchFile(repacked),
      modelPath: (file) => join(repacked, ...file.split('/')),
      precision: 'float16',
      onFile: (e) => {
        if (e.done) files.push(e.file);
      },
    });
    const full = await loadNode(repacked);
    try {
      // every graph has a float16 variant but the int8 text encoder and the vocoder (its phase sums need float32)
      const float16 = half.manifest.denoisers.map(() => 'float16');
      expect(half.loadReport?.graphs.map((g) => g.dtype)).toEqual(['float32', ...float16, 'float16', 'float32']);
      expect(files).toContain('denoisers/teacher.fp16.onnx.data');
      expect(files).toContain('vocoder.onnx.data');
      expect(files).not.toContain('denoisers/teacher.onnx.data');
      const diff = maxAbsDiff(await firstStep(half), await firstStep(full));
      console.log(`float16 variant: max |v_fp16 - v_fp32| = ${diff.toExponential(3)} (tolerance ${FLOAT16_TOLERANCE})`);
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(FLOAT16_TOLERANCE);
    } finally {
      await half.dispose();
      await full.dispose();
    }
  }, 120_000);

  it('refuses a graph whose inputs are not float32 (a float16 variant without keep_io_types), naming it', async () => {
    // the runtime reports the denoiser's `sample` as float16, as such a graph would
    const halfIo: OrtModule = {
      Tensor: ort.Tensor,
      InferenceSession: {
        create: async (model, options) => {
          const s = await ort.InferenceSession.create(model, options);
          if (typeof model !== 'string' || !model.endsWith('teacher.fp16.onnx')) return s;
          const inputMetadata = (s.inputMetadata ?? []).map((v) => (v.name === 'sample' ? { ...v, type: 'float16' } : v));
          return new Proxy(s, { get: (t, k): unknown => (k === 'inputMetadata' ? inputMetadata : Reflect.get(t, k, t)) });
        },
      },
    };
    const e = await loadNode(repacked, 'float16', halfIo).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PackError);
    expect((e as PackError).file).toBe('denoisers/teacher.fp16.onnx');
    expect((e as PackError).problem).toMatch(/^input sample is float16, expected float32\. .*keep_io_types=True/);
  }, 120_000);
});
