// The denoiser bench's A/B mode: two graphs in one process, alternating run by run, on
// onnxruntime-node with the shipped small pack's students. Values are checked, not speeds.
import { describe, expect, it } from 'vitest';
import { requirePack } from '../testing/pack';
import { alternatingMedians, bench, parseOptions } from './bench-denoiser';

describe('bench-denoiser', () => {
  it('alternates the graphs run by run after one warm-up each', async () => {
    const calls: string[] = [];
    const medians = await alternatingMedians([async () => calls.push('a'), async () => calls.push('b')], 3);
    expect(calls).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    expect(medians).toHaveLength(2);
    expect(medians.every((s) => s >= 0)).toBe(true);
  });

  it('--against times both students and reports each median and their ratio', async () => {
    const pack = requirePack();
    const o = parseOptions([pack, '--file', 'denoisers/bsa-25.onnx', '--against', 'denoisers/bsa-50.onnx', '--repeats', '3', '--threads', '1']);
    expect(o.against).toBe('denoisers/bsa-50.onnx');
    const r = (await bench(o)) as { alternating: boolean; median_seconds: Record<string, number>; ratio: number };
    expect(r.alternating).toBe(true);
    const a = r.median_seconds['denoisers/bsa-25.onnx']!;
    const b = r.median_seconds['denoisers/bsa-50.onnx']!;
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo(a / b, 1);
  }, 120_000);
});
