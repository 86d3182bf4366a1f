// The bench table on the shipped pack with onnxruntime-node: the rows' cases, NFE, RTF and the
// end-to-end ratio line (values, not timings: timing goals are checked by running the bench).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsFetchFile } from '../runtime/fs-fetch';
import { Pipeline } from '../runtime/pipeline';
import { ortNode, requirePack } from '../testing/pack';
import { benchRequest, defaultBenchCases, formatBenchTable, median, runBench } from './bench-table';

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await Pipeline.load({ ort: await ortNode(), backend: 'cpu', fetchFile: fsFetchFile(requirePack()) });
}, 120_000);
afterAll(async () => {
  await pipeline.dispose();
});

describe('bench table', () => {
  it("defaults to the teacher at its most steps against the pack's default student", () => {
    const m = pipeline.manifest;
    expect(defaultBenchCases(m)).toEqual([
      { denoiserId: 'teacher', steps: 200 },
      { denoiserId: m.default_denoiser, steps: 25 },
    ]);
    expect(defaultBenchCases(m, [50, 25]).map((c) => c.steps)).toEqual([50, 25, 25]);
  });

  it('guides the teacher at the pack scale and leaves students unguided', () => {
    const m = pipeline.manifest;
    const teacher = benchRequest(m, { denoiserId: 'teacher', steps: 4 }, { prompt: 'x', seed: 1 });
    expect(teacher.guidanceScale).toBe(3);
    expect(benchRequest(m, { denoiserId: 'teacher', steps: 4 }, { prompt: 'x', seed: 1, guidanceScale: 5 }).guidanceScale).toBe(5);
    expect(benchRequest(m, { denoiserId: 'snr+1-25', steps: 25 }, { prompt: 'x', seed: 1, guidanceScale: 5 }).guidanceScale).toBe(1);
    expect(() => benchRequest(m, { denoiserId: 'nope', steps: 4 }, { prompt: 'x', seed: 1 })).toThrow(/"nope" is not in this pack/);
  });

  it('times whole generations: NFE per row, RTF = total / clip, and the ratio line', async () => {
    const rows = await runBench(pipeline, [{ denoiserId: 'teacher', steps: 4 }, { denoiserId: 'snr+1-25', steps: 25 }], {
      prompt: 'a dog barks',
      seed: 0,
      runs: 1,
    });
    expect(rows.map((r) => [r.denoiserId, r.steps, r.nfe])).toEqual([
      ['teacher', 4, 8],
      ['snr+1-25', 25, 25],
    ]);
    for (const r of rows) {
      expect(r.rtf).toBeCloseTo(r.totalMs / 1000 / 2.56, 9);
      expect(Object.values(r.stageMs).reduce((a, b) => a + b, 0)).toBeCloseTo(r.totalMs, 6);
    }
    const table = formatBenchTable(rows);
    expect(table.split('\n')[0]).toMatch(/^denoiser\s+steps\s+tokenize\s+encode\s+denoise\s+decode\s+vocode\s+total\s+NFE\s+RTF$/);
    expect(table).toMatch(/end to end: \S+ takes \d+\.\dx the time of \S+ \(network evaluations (8 vs 25|25 vs 8)/);
  }, 120_000);

  it('median of an even count is the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });
});
