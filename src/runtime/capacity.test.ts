// Capacity checks before downloading (capacity.ts), with the sizes of the Tango-size pack the
// factory wrote (docs/tango.md: text encoder int8 342,841,755 bytes; U-Net teacher.onnx
// 1,192,482 + teacher.onnx.data 3,463,013,120; the float16 variant about half) and the shipped pack.
import { describe, expect, it } from 'vitest';
import { readPackJson } from '../testing/pack';
import { WASM_ADDRESS_SPACE, WASM_WORKING_MARGIN, onDemandProblem, planCapacity, type CapacityInput } from './capacity';
import { packGraphs, selectPrecision, type PackGraph, type PrecisionChoice } from './graphs';
import { validateManifest, type Manifest } from './manifest';
import { upFrontGraphs } from './pipeline-load';

const SHA = 'c'.repeat(64);

const TEXT = 342_841_755;
const UNET_GRAPH = 1_192_482;
const UNET_DATA = 3_463_013_120;
const UNET16_DATA = 1_731_506_560;
/** not written at full size yet (docs/tango.md): 2/3 of the VAE's 221 MB, and the vocoder's 55.3 M float32 parameters */
const VAE = 147_000_000;
const VOCODER = 221_200_000;
/**
 * largest_tensor_bytes as the factory wrote them for that pack (tensor_sizes.py): FLAN-T5-large's
 * 32,128 x 1,024 embedding and the U-Net's 1,280 x 2,560 x 3 x 3 up-block convolution, both at the
 * float32 their int8 storage is cast to (the float16 variant's: half)
 */
const TEXT_TENSOR = 131_596_288;
const UNET_TENSOR = 117_964_800;

/** A manifest with Tango's graph sizes on the shipped pack's other fields; `unetTensor` overrides the U-Net's largest tensor. */
function tango(unetTensor = UNET_TENSOR): Manifest {
  const m = structuredClone(validateManifest(readPackJson('manifest.json')));
  const teacher = m.denoisers.find((d) => d.id === 'teacher');
  if (!teacher) throw new Error('the shipped pack has no teacher');
  m.denoisers = [teacher];
  delete m.default_denoiser;
  m.metrics = null;
  m.golden = null;
  teacher.external_data = ['denoisers/teacher.onnx.data'];
  teacher.largest_tensor_bytes = unetTensor;
  teacher.variants = [
    { dtype: 'float16', file: 'denoisers/teacher.fp16.onnx', external_data: ['denoisers/teacher.fp16.onnx.data'], largest_tensor_bytes: unetTensor / 2 },
  ];
  m.text.encoder_largest_tensor_bytes = TEXT_TENSOR;
  const sizes: Record<string, number> = {
    'text_encoder.onnx': TEXT,
    'denoisers/teacher.onnx': UNET_GRAPH,
    'denoisers/teacher.onnx.data': UNET_DATA,
    'denoisers/teacher.fp16.onnx': UNET_GRAPH,
    'denoisers/teacher.fp16.onnx.data': UNET16_DATA,
    'vae_decoder.onnx': VAE,
    'vocoder.onnx': VOCODER,
  };
  const keep = ['tokenizer.json', 'tokenizer_config.json'];
  m.files = Object.fromEntries([
    ...keep.map((f) => [f, m.files[f] ?? { bytes: 0, sha256: SHA }] as const),
    ...Object.entries(sizes).map(([f, bytes]) => [f, { bytes, sha256: SHA }] as const),
  ]);
  return validateManifest(m);
}

const SMALL_FILES = ['tokenizer.json', 'tokenizer_config.json'];
const smallBytes = (m: Manifest): number => SMALL_FILES.reduce((n, f) => n + (m.files[f]?.bytes ?? 0), 0);

/** The input for `m` on `backend`, precision as the worker chooses it. */
function input(m: Manifest, backend: 'webgpu' | 'wasm', over: Partial<CapacityInput> = {}): CapacityInput {
  const shaderF16 = over.shaderF16 ?? backend === 'webgpu';
  const graphs = packGraphs(m);
  const precision: PrecisionChoice = selectPrecision({
    backend, shaderF16, float16Graphs: graphs.filter((g) => g.variants.length > 0).length, totalGraphs: graphs.length,
  });
  return { manifest: m, graphs: upFrontGraphs(m, {}), backend, precision, shaderF16, limits: null, storage: null, cached: new Set(), ...over };
}

/** Limits of a desktop GPU (Chromium on a discrete adapter: 4 GiB - 4 buffers, 2 GiB - 4 bindings). */
const DESKTOP = { maxBufferSize: 4_294_967_292, maxStorageBufferBindingSize: 2_147_483_644 };
/** WebGPU's default limits (what an adapter must offer at least). */
const DEFAULT_LIMITS = { maxBufferSize: 268_435_456, maxStorageBufferBindingSize: 134_217_728 };

describe('planCapacity: the Tango-size pack', () => {
  const weights32 = TEXT + UNET_GRAPH + UNET_DATA + VAE + VOCODER;
  const weights16 = TEXT + UNET_GRAPH + UNET16_DATA + VAE + VOCODER;

  it('does not fit WASM: 4.18 GB of float32 weights + the 1 GiB margin pass 4 GiB; says so and names WebGPU', () => {
    expect(weights32).toBe(4_175_247_357);
    expect(weights32 + WASM_WORKING_MARGIN).toBeGreaterThan(WASM_ADDRESS_SPACE);
    const plan = planCapacity(input(tango(), 'wasm'));
    expect(plan.fits).toBe(false);
    expect(plan.weightBytes).toBe(weights32);
    expect(plan.precision.dtype).toBe('float32');
    expect(plan.problem).toBe(
      'This pack needs 5.25 GB of memory at once (4.18 GB of weights for the graphs it loads together, plus a 1.07 GB working margin), ' +
        'and WASM holds 4.3 GB (4 GiB). Nothing was downloaded. Use a browser and device with WebGPU (there its float16 weights, 2.44 GB, load instead), or a smaller pack.',
    );
  });

  it('fits WebGPU with shader-f16 on float16 weights (2.44 GB to download)', () => {
    const plan = planCapacity(input(tango(), 'webgpu', { limits: DESKTOP }));
    expect(plan).toMatchObject({ fits: true, problem: null, storage: null, weightBytes: weights16 });
    expect(plan.precision.dtype).toBe('float16');
    expect(plan.downloadBytes).toBe(weights16 + smallBytes(tango()));
  });

  it('fits WebGPU without shader-f16 on float32 weights: the 118 MB largest tensor is under every limit', () => {
    const plan = planCapacity(input(tango(), 'webgpu', { shaderF16: false, limits: DEFAULT_LIMITS }));
    expect(plan).toMatchObject({ fits: true, weightBytes: weights32 });
    expect(plan.precision.dtype).toBe('float32');
  });

  it("moves to float16 when a float32 tensor passes the adapter's buffers and the float16 one does not", () => {
    const chosen: PrecisionChoice = { dtype: 'float32', reason: 'float32 weights, as requested' };
    const plan = planCapacity(input(tango(200_000_000), 'webgpu', { limits: DEFAULT_LIMITS, precision: chosen }));
    expect(plan.fits).toBe(true);
    expect(plan.precision).toEqual({
      dtype: 'float16',
      reason: "float16 weights: the float32 denoisers/teacher.onnx has a tensor larger than this adapter's 134.2 MB buffers",
    });
    expect(plan.weightBytes).toBe(weights16);
  });

  it('stops when no variant fits the buffers (no shader-f16), naming the graph and the limit', () => {
    const plan = planCapacity(input(tango(200_000_000), 'webgpu', { shaderF16: false, limits: DEFAULT_LIMITS }));
    expect(plan.fits).toBe(false);
    expect(plan.problem).toBe(
      'The largest weight tensor of denoisers/teacher.onnx (200.0 MB) does not fit in one buffer of this WebGPU adapter ' +
        '(at most 134.2 MB: maxBufferSize and maxStorageBufferBindingSize). Nothing was downloaded. Use a GPU with larger buffer limits, or choose WASM.',
    );
  });

  it('a download larger than the storage left is loaded but not kept; cached files are not counted', () => {
    const storage = { quota: 10_000_000_000, usage: 8_000_000_000 };
    const plan = planCapacity(input(tango(), 'webgpu', { limits: DESKTOP, storage }));
    expect(plan.fits).toBe(true);
    expect(plan.storage).toBe(
      'Not available offline: this pack downloads 2.44 GB, more than the 2.00 GB free of the 10.00 GB this browser gives this site, ' +
        "so it is not stored. It works online as it is; free some space (Clear cache below, or other sites' data in the browser's settings) and load it again to keep it.",
    );
    const cached = new Set(['denoisers/teacher.fp16.onnx.data']);
    const again = planCapacity(input(tango(), 'webgpu', { limits: DESKTOP, storage, cached }));
    expect(again.downloadBytes).toBe(weights16 - UNET16_DATA + smallBytes(tango()));
    expect(again.storage).toBeNull();
  });
});

describe('planCapacity: the shipped small pack', () => {
  it('fits WASM: its up-front graphs are 19.9 MB', () => {
    const m = validateManifest(readPackJson('manifest.json'));
    const plan = planCapacity(input(m, 'wasm', { storage: { quota: 1e10, usage: 0 } }));
    const graphs = ['text_encoder.onnx', 'denoisers/snr+1-25.onnx', 'vae_decoder.onnx', 'vocoder.onnx'];
    expect(plan).toMatchObject({ fits: true, problem: null, storage: null });
    expect(plan.weightBytes).toBe(graphs.reduce((n, f) => n + (m.files[f]?.bytes ?? 0), 0));
  });

  it("is checked against WebGPU's buffers with the largest tensors the factory wrote into its manifest", () => {
    const m = validateManifest(readPackJson('manifest.json'));
    // the text encoder's word-piece table (int8, cast to float32) is the pack's largest weight
    expect(m.text.encoder_largest_tensor_bytes).toBe(12_421_632);
    expect(planCapacity(input(m, 'webgpu', { limits: DEFAULT_LIMITS })).fits).toBe(true);
    const small = { maxBufferSize: 268_435_456, maxStorageBufferBindingSize: 8 * 2 ** 20 };
    const plan = planCapacity(input(m, 'webgpu', { limits: small }));
    expect(plan.fits).toBe(false);
    expect(plan.problem).toMatch(/^The largest weight tensor of text_encoder\.onnx \(12\.4 MB\) does not fit in one buffer .* \(at most 8\.4 MB/);
  });
});

describe('onDemandProblem: a denoiser downloaded on first use, beside the graphs already loaded', () => {
  /** the pack as the factory wrote it: each U-Net stored int8 (869,068,016 bytes of external data, docs/tango.md) */
  const UNET_INT8 = 869_068_016;
  const float32: PrecisionChoice = { dtype: 'float32', reason: 'float32 weights' };
  /** tango() with `students` more int8 U-Nets beside the teacher (the teacher stored int8 too) */
  function withStudents(students: number): Manifest {
    const m = structuredClone(tango());
    const teacher = m.denoisers[0];
    if (teacher?.role !== 'teacher') throw new Error('no teacher');
    const unet = (id: string) => ({ id, file: `denoisers/${id}.onnx`, external_data: [`denoisers/${id}.onnx.data`], largest_tensor_bytes: UNET_TENSOR });
    m.denoisers = [{ ...teacher, ...unet('teacher'), variants: [] }];
    for (let i = 0; i < students; i++) {
      m.denoisers.push({ ...unet(`s${i}`), role: 'student', method: 'bsa', steps: [25], guidance: { type: 'folded' }, distilled_from: 'teacher' });
    }
    for (const d of m.denoisers) {
      m.files[d.file] = { bytes: UNET_GRAPH, sha256: SHA };
      m.files[`${d.file}.data`] = { bytes: UNET_INT8, sha256: SHA };
    }
    delete m.files['denoisers/teacher.fp16.onnx'];
    delete m.files['denoisers/teacher.fp16.onnx.data'];
    return validateManifest(m);
  }
  const denoiser = (m: Manifest, id: string): PackGraph => {
    const g = packGraphs(m).find((x) => x.denoiserId === id);
    if (!g) throw new Error(id);
    return g;
  };
  const others = (m: Manifest) => packGraphs(m).filter((g) => g.kind !== 'denoiser' && g.kind !== 'vae-encoder');

  it('on WASM the teacher fits beside the loaded student: 1.58 + 0.87 GB + the 1 GiB margin', () => {
    const m = withStudents(1);
    const loaded = [...others(m), denoiser(m, 's0')];
    expect(onDemandProblem({ manifest: m, loaded, graph: denoiser(m, 'teacher'), backend: 'wasm', precision: float32, limits: null })).toBeNull();
  });

  it('a third U-Net does not: it says what is loaded, what it needs, and that nothing is lost', () => {
    const m = withStudents(2);
    const loaded = [...others(m), denoiser(m, 's0'), denoiser(m, 's1')];
    const problem = onDemandProblem({ manifest: m, loaded, graph: denoiser(m, 'teacher'), backend: 'wasm', precision: float32, limits: null });
    const held = TEXT + VAE + VOCODER + 2 * (UNET_GRAPH + UNET_INT8);
    expect(held + UNET_GRAPH + UNET_INT8 + WASM_WORKING_MARGIN).toBeGreaterThan(WASM_ADDRESS_SPACE);
    expect(problem).toBe(
      'denoisers/teacher.onnx (870.3 MB) does not fit beside the graphs already loaded (2.45 GB): with a 1.07 GB working margin they ' +
        'need 4.40 GB, and WASM holds 4.3 GB (4 GiB). Nothing was downloaded, and the models already loaded still work: choose one ' +
        'of them, or use a browser and device with WebGPU.',
    );
    // WebGPU holds the weights on the GPU: only the buffer limit applies there
    const gpu = { manifest: m, loaded, graph: denoiser(m, 'teacher'), backend: 'webgpu' as const, precision: float32 };
    expect(onDemandProblem({ ...gpu, limits: DEFAULT_LIMITS })).toBeNull();
    expect(onDemandProblem({ ...gpu, limits: { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 26 } })).toMatch(
      /^The largest weight tensor of denoisers\/teacher\.onnx \(118\.0 MB\) does not fit .* The models already loaded still work\.$/,
    );
  });
});
