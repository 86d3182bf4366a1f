import { describe, expect, it } from 'vitest';
import { graphSessionOptions, keepsStoredWeights, WASM_UNFOLDED_FILE_BYTES } from './session-options';

describe('graphSessionOptions', () => {
  const base = { executionProviders: ['wasm'] };

  it('leaves the small pack\'s graphs folded (every graph under 256 MiB)', () => {
    expect(graphSessionOptions(base, 'wasm', 9_000_000)).toBe(base);
    expect(keepsStoredWeights('wasm', WASM_UNFOLDED_FILE_BYTES)).toBe(false);
  });

  it('turns constant folding off for the Tango-size U-Net and text encoder', () => {
    for (const bytes of [869_068_218, 342_841_755]) {
      expect(graphSessionOptions(base, 'wasm', bytes)).toEqual({
        executionProviders: ['wasm'],
        extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' } },
      });
    }
  });

  it('turns it off on WebGPU too (its build folds in the same wasm32 heap), not on onnxruntime-node', () => {
    expect(keepsStoredWeights('webgpu', 869_068_218)).toBe(true);
    expect(graphSessionOptions(base, 'cpu', 869_068_218)).toBe(base);
  });

  it('keeps the caller\'s other extra entries', () => {
    const withExtra = { ...base, extra: { session: { use_ort_model_bytes_directly: '1' } } };
    expect(graphSessionOptions(withExtra, 'wasm', 1e9).extra).toEqual({
      session: { use_ort_model_bytes_directly: '1' },
      optimization: { disable_specified_optimizers: 'ConstantFolding' },
    });
  });
});
