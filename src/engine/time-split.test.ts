// E23 (docs/sampling.md): the split rule, the time weights (the factory's time_split.py values) and
// the Denoise that blends the two parts' v.
import { describe, expect, it } from 'vitest';
import { firstPartWeight, splitDenoise, splitInTime } from './time-split';

describe('splitInTime', () => {
  it.each([
    ['a phone rings followed by a man talking', ['a phone rings', 'a man talking']],
    ['piano music and then a woman talks', ['piano music', 'a woman talks']],
    ['a bell rings, then a man speaks', ['a bell rings', 'a man speaks']],
    ['First a dog barks, then rain falls.', ['a dog barks', 'rain falls']],
    ['A dog barks FOLLOWED BY applause', ['A dog barks', 'applause']],
    ['a dog barks while rain falls', null],
    ['thunder', null],
    ['followed by a man talking', null],
    ['the athens orchestra', null], // "then" inside a word is not the sequence word
    ['a door slams before a dog barks', ['a door slams', 'a dog barks']],
    ['a woman speaks slowly after someone plays the tuba', ['someone plays the tuba', 'a woman speaks slowly']],
    ['A guitar strums, after someone claps.', ['someone claps', 'A guitar strums']],
    ['after the rain', null],
    ['the afterglow hums', null], // nor "after" inside one
  ] as const)('%s', (prompt, halves) => {
    expect(splitInTime(prompt)).toEqual(halves);
  });
});

describe('firstPartWeight (E23)', () => {
  it("is the factory's sigmoid: 1 -> 0 around the middle, symmetric about T/2 - 1/2", () => {
    const w = firstPartWeight(64);
    // factory: time_split.first_part_weight(64)
    expect(w[0]).toBeCloseTo(0.99961996, 6);
    expect(w[31]).toBeCloseTo(0.53120941, 6);
    expect(w[32]).toBeCloseTo(0.46879062, 6);
    expect(w[63]).toBeCloseTo(0.00037998, 6);
    for (let f = 1; f < 64; f++) expect(w[f]).toBeLessThan(w[f - 1]!);
  });
});

describe('splitDenoise', () => {
  const [C, T, F] = [2, 8, 3];
  const n = C * T * F;
  /** a network whose v is its input plus 10 x the text row it was given (row r: r + 1) */
  const network = (calls: number[]) => (z: Float32Array, _t: number, rows: 2 | 3) => {
    calls.push(rows);
    return z.map((x, i) => x + 10 * (Math.floor(i / n) + 1));
  };

  it('unguided: both parts on the same z, blended along time', async () => {
    const calls: number[] = [];
    const z = Float32Array.from({ length: n }, (_, i) => i / n);
    const v = await splitDenoise(network(calls), [C, T, F])(z, 500, 1);
    const w = firstPartWeight(T);
    expect(calls).toEqual([2]);
    for (let c = 0; c < C; c++) {
      for (let f = 0; f < T; f++) {
        for (let b = 0; b < F; b++) {
          const i = (c * T + f) * F + b;
          expect(v[i]).toBeCloseTo(z[i]! + 10 * w[f]! + 20 * (1 - w[f]!), 5);
        }
      }
    }
  });

  it('guided: the unconditional row is evaluated once and returned as row 1', async () => {
    const calls: number[] = [];
    const z = new Float32Array(2 * n).fill(0.5);
    z.fill(-0.5, n);
    const v = await splitDenoise(network(calls), [C, T, F])(z, 500, 2);
    expect(calls).toEqual([3]);
    expect(v.length).toBe(2 * n);
    expect(Array.from(v.subarray(n))).toEqual(new Array(n).fill(-0.5 + 30));
    expect(v[0]).toBeCloseTo(0.5 + 10 * firstPartWeight(T)[0]! + 20 * (1 - firstPartWeight(T)[0]!), 5);
  });
});
