import { describe, expect, it } from 'vitest';
import { inpaintEdit, rangeFromDrag, rangeSeconds } from './inpaint-range';

const pack = { id: 'small', name: 'small', clipSeconds: 2.56, numSamples: 40960, latentFrames: 64 };
const latent = new Float32Array(4 * 64 * 16);

describe('inpaintEdit', () => {
  it('maps seconds onto the pack’s latent frames, rounded outwards', () => {
    expect(inpaintEdit({ latent, packId: 'small' }, pack, 0.7, 1.3)).toEqual({ edit: { kind: 'inpaint', latent, startFrame: 17, endFrame: 33 } });
    expect(rangeSeconds({ startFrame: 17, endFrame: 33 }, 64, 2.56)).toEqual([0.68, 1.32]);
  });

  it.each([
    ['a result without a latent', { packId: 'small' }, pack, 0, 1, /kept before results kept their latent/],
    ['a result of another pack', { latent, packId: 'other' }, pack, 0, 1, /made by the pack “other”; load that pack again/],
    ['an empty range', { latent, packId: 'small' }, pack, 1, 1, /“from” before “to”, both between 0 and 2.56 s/],
    ['a range past the end', { latent, packId: 'small' }, pack, 1, 3, /between 0 and 2.56 s/],
    ['a range that is not a number', { latent, packId: 'small' }, pack, Number.NaN, 1, /Choose a range/],
    ['a longer clip (5.12 s)', { latent, packId: 'small', numSamples: 81920 }, pack, 0, 1, /pack’s own 2.56 s; this one is 5.12 s long/],
  ])('says why not for %s', (_, result, p, from, to, message) => {
    const out = inpaintEdit(result, p, from, to);
    expect('refusal' in out && out.refusal).toMatch(message);
  });
});

describe('rangeFromDrag', () => {
  it('turns a drag into whole latent frames, widened outwards, in either direction', () => {
    expect(rangeFromDrag(0.25, 0.75, 2.56, 0.04)).toEqual({ from: 0.64, to: 1.92 });
    expect(rangeFromDrag(0.75, 0.25, 2.56, 0.04)).toEqual({ from: 0.64, to: 1.92 });
    expect(rangeFromDrag(0.3, 0.31, 2.56, 0.04)).toEqual({ from: 0.76, to: 0.8 }); // frames 19.2..19.84 -> 19..20
  });

  it('clamps to the track and keeps at least one frame', () => {
    expect(rangeFromDrag(-0.2, 1.4, 2.56, 0.04)).toEqual({ from: 0, to: 2.56 });
    expect(rangeFromDrag(0.5, 0.5, 2.56, 0.04)).toEqual({ from: 1.28, to: 1.32 }); // a click: one frame
    expect(rangeFromDrag(1, 1, 2.56, 0.04)).toEqual({ from: 2.52, to: 2.56 }); // a click at the end: the last frame
  });

  it('gives ranges inpaintEdit maps back onto the same frames', () => {
    const { from, to } = rangeFromDrag(0.1, 0.45, 2.56, 0.04);
    expect(inpaintEdit({ latent, packId: 'small' }, pack, from, to)).toMatchObject({ edit: { startFrame: 6, endFrame: 29 } });
  });
});
