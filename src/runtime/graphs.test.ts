// External data and variants in the manifest (docs/pack-format.md): validation of good and
// bad manifests, the files the loader fetches for each precision, and the precision choice.
import { describe, expect, it } from 'vitest';
import { manifestRefusal } from '../testing/manifest-refusal';
import { readPackJson } from '../testing/pack';
import {
  chooseSource,
  countVariants,
  externalDataEntries,
  filesToLoad,
  packGraphs,
  parsePrecision,
  selectPackPrecision,
  selectPrecision,
} from './graphs';
import { validateManifest } from './manifest';

const SHA = 'b'.repeat(64);
type Json = Record<string, any>;

/** The shipped manifest (unchanged). */
function shipped(): Json {
  return structuredClone(readPackJson('manifest.json')) as Json;
}

/** The shipped manifest laid out as `repack --external-data --fp16` writes it. */
function repacked(): Json {
  const m = shipped();
  const add = (file: string): void => {
    m['files'][file] = { bytes: 1, sha256: SHA };
  };
  const storage = (entry: Json, file: string, prefix = '', fp16 = true): void => {
    entry[`${prefix}external_data`] = [`${file}.data`];
    add(`${file}.data`);
    if (!fp16) return;
    const half = file.replace(/\.onnx$/, '.fp16.onnx');
    entry[`${prefix}variants`] = [{ dtype: 'float16', file: half, external_data: [`${half}.data`] }];
    add(half);
    add(`${half}.data`);
  };
  storage(m['text'], m['text'].encoder, 'encoder_', false);
  for (const d of m['denoisers']) storage(d, d.file);
  storage(m['vae_decoder'], m['vae_decoder'].file);
  storage(m['vocoder'], m['vocoder'].file);
  m['vae_encoder'] = { file: 'vae_encoder.onnx' };
  add('vae_encoder.onnx');
  storage(m['vae_encoder'], 'vae_encoder.onnx');
  return m;
}

function refused(edit: (m: Json) => void): string {
  const m = repacked();
  edit(m);
  return manifestRefusal(m).problem;
}

describe('manifest: external_data and variants', () => {
  it('accepts the shipped manifest unchanged (the new fields are optional)', () => {
    const m = validateManifest(shipped());
    expect(packGraphs(m).every((g) => g.float32.externalData.length === 0 && g.variants.length === 0)).toBe(true);
  });

  it('accepts a repacked manifest with external data and float16 variants', () => {
    const m = validateManifest(repacked());
    const graphs = packGraphs(m);
    const denoisers = m.denoisers.map(() => 'denoiser');
    expect(graphs.map((g) => g.kind)).toEqual(['text', ...denoisers, 'vae', 'vocoder', 'vae-encoder']);
    expect(graphs[1]!.float32).toEqual({
      file: 'denoisers/teacher.onnx',
      externalData: ['denoisers/teacher.onnx.data'],
      dtype: 'float32',
      largestTensorBytes: 294_912, // the shipped manifest's, written by the factory (tensor_sizes.py)
    });
    expect(graphs[1]!.variants).toEqual([
      { file: 'denoisers/teacher.fp16.onnx', externalData: ['denoisers/teacher.fp16.onnx.data'], dtype: 'float16' },
    ]);
    expect(countVariants(graphs, 'float16')).toBe(m.denoisers.length + 3); // every graph but the int8 text encoder (the VAE encoder too)
  });

  it('refuses an external-data file missing from files, naming the field', () => {
    expect(refused((m) => delete m['files']['denoisers/teacher.onnx.data'])).toBe(
      'denoisers[0].external_data[0] names "denoisers/teacher.onnx.data", which is not listed in files',
    );
    expect(refused((m) => delete m['files']['vocoder.fp16.onnx.data'])).toMatch(
      /^vocoder\.variants\[0\]\.external_data\[0\] names "vocoder\.fp16\.onnx\.data", which is not listed in files$/,
    );
    expect(refused((m) => delete m['files']['vae_decoder.fp16.onnx'])).toMatch(/^vae_decoder\.variants\[0\]\.file names/);
    expect(refused((m) => delete m['files']['text_encoder.onnx.data'])).toMatch(/^text\.encoder_external_data\[0\] names/);
  });

  it('refuses external data outside the graph folder, empty lists, duplicates and non-strings', () => {
    expect(
      refused((m) => {
        m['denoisers'][0].external_data = ['teacher.onnx.data'];
        m['files']['teacher.onnx.data'] = { bytes: 1, sha256: SHA };
      }),
    ).toMatch(/must lie in the graph's folder "denoisers\/" or below it/);
    expect(refused((m) => (m['vocoder'].external_data = []))).toMatch(/^vocoder\.external_data must be a non-empty list/);
    expect(refused((m) => (m['vocoder'].external_data = ['vocoder.onnx.data', 'vocoder.onnx.data']))).toMatch(
      /listed twice/,
    );
    expect(refused((m) => (m['vocoder'].external_data = [3]))).toMatch(/^vocoder\.external_data\[0\] must be a non-empty string/);
    expect(refused((m) => (m['vocoder'].external_data = ['../x.data']))).toMatch(/must be a relative path inside the pack/);
    expect(refused((m) => (m['vocoder'].external_data = ['vocoder.onnx']))).toMatch(/is the graph file itself/);
  });

  it('refuses an unknown variant dtype, a second variant of one dtype, and a variant that is the graph itself', () => {
    expect(refused((m) => (m['vocoder'].variants[0].dtype = 'int4'))).toMatch(
      /^vocoder\.variants\[0\]\.dtype must be "float16" or "int8" \(got "int4"\)$/,
    );
    expect(refused((m) => m['vocoder'].variants.push({ ...m['vocoder'].variants[0] }))).toMatch(
      /a second float16 variant/,
    );
    expect(refused((m) => (m['vocoder'].variants[0].file = 'vocoder.onnx'))).toMatch(/is the float32 graph itself/);
    expect(refused((m) => (m['vocoder'].variants = { dtype: 'float16' }))).toMatch(/must be a list/);
  });
});

describe('graph files and precision', () => {
  const m = validateManifest(repacked());
  const graphs = packGraphs(m);

  it('loads one copy of the weights: the chosen variant files and everything that is not a graph', () => {
    const f32 = filesToLoad(m, graphs.map((g) => chooseSource(g, 'float32')));
    const f16 = filesToLoad(m, graphs.map((g) => chooseSource(g, 'float16')));
    expect(f32).toContain('denoisers/teacher.onnx.data');
    expect(f32.some((f) => f.includes('.fp16.'))).toBe(false);
    expect(f16).toContain('denoisers/teacher.fp16.onnx.data');
    expect(f16).not.toContain('denoisers/teacher.onnx.data');
    // the text encoder has no float16 variant: its float32 graph is loaded either way
    expect(f16).toContain('text_encoder.onnx.data');
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'golden.json']) {
      expect(f32).toContain(f);
      expect(f16).toContain(f);
    }
    // the VAE encoder (audio-to-audio) is loaded like any other graph: one copy, in the chosen precision
    expect(f32.filter((f) => f.startsWith('vae_encoder.'))).toEqual(['vae_encoder.onnx', 'vae_encoder.onnx.data']);
    expect(f16.filter((f) => f.startsWith('vae_encoder.'))).toEqual(['vae_encoder.fp16.onnx', 'vae_encoder.fp16.onnx.data']);
  });

  it('names external data relative to the graph folder, as ONNX records it', () => {
    const source = chooseSource(graphs[1]!, 'float16');
    const entries = externalDataEntries(source, (f) => new TextEncoder().encode(f));
    expect(entries.map((e) => e.path)).toEqual(['teacher.fp16.onnx.data']);
    expect(new TextDecoder().decode(entries[0]!.data)).toBe('denoisers/teacher.fp16.onnx.data');
  });

  it('chooses float16 only on WebGPU with shader-f16, and says why', () => {
    const base = { float16Graphs: 3, totalGraphs: 4 };
    expect(selectPrecision({ ...base, backend: 'webgpu', shaderF16: true })).toEqual({
      dtype: 'float16',
      reason: 'float16 weights for 3 of 4 graphs: the WebGPU adapter has shader-f16',
    });
    const noF16 = selectPrecision({ ...base, backend: 'webgpu', shaderF16: false });
    expect(noF16.dtype).toBe('float32');
    expect(noF16.reason).toMatch(/adapter has no shader-f16/);
    const wasm = selectPrecision({ ...base, backend: 'wasm', shaderF16: false });
    expect(wasm.dtype).toBe('float32');
    expect(wasm.reason).toMatch(/float16 variants are for WebGPU, this runs on WASM/);
    expect(selectPrecision({ ...base, float16Graphs: 0, backend: 'webgpu', shaderF16: true }).reason).toMatch(
      /the pack has no float16 variants/,
    );
    expect(selectPrecision({ ...base, backend: 'wasm', shaderF16: false, preference: 'float16' }).dtype).toBe('float16');
    expect(selectPrecision({ ...base, backend: 'webgpu', shaderF16: true, preference: 'float32' }).dtype).toBe('float32');
  });

  it('chooses int8 arithmetic on WASM when the pack has it, not on onnxruntime-node or WebGPU', () => {
    const base = { float16Graphs: 0, int8Graphs: 1, totalGraphs: 16 };
    expect(selectPrecision({ ...base, backend: 'wasm', shaderF16: false })).toEqual({
      dtype: 'int8',
      reason: 'int8 arithmetic for 1 of 16 graphs: faster than float32 on WASM',
    });
    expect(selectPrecision({ ...base, backend: 'cpu', shaderF16: false })).toEqual({
      dtype: 'float32',
      reason: 'float32 weights: the int8 variants are for WASM (no faster on onnxruntime-node)',
    });
    expect(selectPrecision({ ...base, backend: 'webgpu', shaderF16: true }).dtype).toBe('float32');
    expect(selectPrecision({ ...base, float16Graphs: 3, backend: 'webgpu', shaderF16: true }).dtype).toBe('float16');
    expect(selectPrecision({ ...base, backend: 'wasm', shaderF16: false, preference: 'float32' }).dtype).toBe('float32');
    expect(selectPrecision({ ...base, int8Graphs: 0, backend: 'wasm', shaderF16: false }).dtype).toBe('float32');
    // asked for: honoured where the pack has it (A/B benchmarks), refused in words where it has none
    expect(selectPrecision({ ...base, backend: 'webgpu', shaderF16: false, preference: 'int8' }).dtype).toBe('int8');
    expect(selectPrecision({ ...base, int8Graphs: 0, backend: 'wasm', shaderF16: false, preference: 'int8' })).toEqual({
      dtype: 'float32',
      reason: 'float32 weights: the pack has no int8 variants',
    });
  });

  it('loads the int8 variant in place of its graph, and the other graphs as float32', () => {
    const withInt8 = repacked();
    withInt8['denoisers'][1].variants = [{ dtype: 'int8', file: 'denoisers/student.int8.onnx' }];
    withInt8['files']['denoisers/student.int8.onnx'] = { bytes: 10, sha256: SHA };
    const all = packGraphs(validateManifest(withInt8));
    const student = all.find((g) => g.denoiserId === withInt8['denoisers'][1].id)!;
    expect(chooseSource(student, 'int8').file).toBe('denoisers/student.int8.onnx');
    expect(chooseSource(all[0]!, 'int8').dtype).toBe('float32');
    expect(countVariants(all, 'int8')).toBe(1);
    // the page's, the bench's and the CLI's choice, counted from the manifest itself
    const m = validateManifest(withInt8);
    expect(selectPackPrecision(m, { backend: 'wasm', shaderF16: false })).toEqual({
      dtype: 'int8',
      reason: `int8 arithmetic for 1 of ${all.length} graphs: faster than float32 on WASM`,
    });
    expect(selectPackPrecision(m, { backend: 'webgpu', shaderF16: true }).dtype).toBe('float16');
    expect(selectPackPrecision(m, { backend: 'wasm', shaderF16: false, preference: 'float32' }).dtype).toBe('float32');
    expect(parsePrecision('int8')).toBe('int8');
    expect(parsePrecision('int4')).toBeUndefined();
  });
});
