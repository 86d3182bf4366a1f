import { describe, expect, it } from 'vitest';
import { colormap, melImage, waveformEnvelope } from './draw';

describe('pictures', () => {
  it('envelope: min and max of each slice', () => {
    const x = Float32Array.from([0, 1, -1, 0.5, 0.25, -0.25, 0, 0]);
    const { min, max } = waveformEnvelope(x, 4);
    expect(Array.from(max)).toEqual([1, 0.5, 0.25, 0]);
    expect(Array.from(min)).toEqual([0, -1, -0.25, 0]);
    // fewer samples than columns: every column shows the sample under it
    expect(Array.from(waveformEnvelope(Float32Array.from([0.5]), 3).max)).toEqual([0.5, 0.5, 0.5]);
  });

  it('colormap: ends at the first and last stop, clamps outside 0..1', () => {
    expect(colormap(0)).toEqual([10, 12, 40]);
    expect(colormap(1)).toEqual([252, 240, 160]);
    expect(colormap(-3)).toEqual(colormap(0));
    expect(colormap(Number.NaN)).toEqual(colormap(0));
  });

  it('mel image: the loudest value is bright, low mels at the bottom row', () => {
    // 2 frames x 3 mels; frame 1, mel 0 is loudest
    const px = melImage({ data: Float32Array.from([-8, -8, -8, 0, -8, -8]), frames: 2, mels: 3 }, 8);
    expect(px).toHaveLength(2 * 3 * 4);
    const at = (row: number, col: number) => Array.from(px.subarray((row * 2 + col) * 4, (row * 2 + col) * 4 + 4));
    expect(at(2, 1)).toEqual([252, 240, 160, 255]); // bottom row = mel 0, column = frame 1
    expect(at(0, 0)).toEqual([10, 12, 40, 255]);
  });
});
