// The graph-capture probe's description of each graph (names, shapes, types) against the real
// graphs on onnxruntime-node: the step graph the app builds and the shipped pack's default student.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stepGraphBytes } from '../runtime/step-graph';
import { ortNode, readPackJson, requirePack } from '../testing/pack';
import { probeGraphs } from './graph-capture-browser';

interface Manifest {
  default_denoiser: string;
  denoisers: { id: string; file: string }[];
  latent: { channels: number; frames: number; bins: number };
  text: { max_tokens: number; hidden_size: number };
}

describe('graph-capture probe', () => {
  it('describes inputs the real graphs accept and the output they return', async () => {
    const ort = await ortNode();
    const m = readPackJson('manifest.json') as Manifest;
    const runs = 3;
    const graphs = probeGraphs([m.latent.channels, m.latent.frames, m.latent.bins], m.text.max_tokens, m.text.hidden_size, runs);
    const student = m.denoisers.find((d) => d.id === m.default_denoiser)!;
    const bytes: Record<string, Uint8Array> = {
      '/graph/step.onnx': stepGraphBytes(1),
      '/graph/denoiser.onnx': readFileSync(join(requirePack(), student.file)),
    };
    expect(graphs.map((g) => g.url).sort()).toEqual(Object.keys(bytes).sort());
    for (const g of graphs) {
      const session = await ort.InferenceSession.create(bytes[g.url]!);
      expect([...session.inputNames].sort()).toEqual(g.inputs.map((i) => i.name).sort());
      expect(session.outputNames).toContain(g.output.name);
      const count = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);
      const feeds = Object.fromEntries(
        g.inputs.map((i) => {
          if (i.type === 'int64') {
            expect(i.perRun).toHaveLength(runs); // one value set per run, each of the input's size
            for (const values of i.perRun!) expect(values).toHaveLength(count(i.dims));
            return [i.name, new ort.Tensor('int64', BigInt64Array.from(i.perRun![0]!.map(BigInt)), i.dims)];
          }
          return [i.name, new ort.Tensor('float32', new Float32Array(count(i.dims)).fill(0.1), i.dims)];
        }),
      );
      const out = (await session.run(feeds))[g.output.name]!;
      expect(out.dims).toEqual(g.output.dims);
      expect(Array.from(out.data as Float32Array).every(Number.isFinite)).toBe(true);
      await session.release();
    }
  });

  it('varies the timestep across runs and masks part of the caption', () => {
    const [, student] = probeGraphs([8, 64, 16], 32, 384, 4);
    const timestep = student!.inputs.find((i) => i.name === 'timestep')!;
    expect(timestep.perRun).toEqual([[999], [759], [500], [120]]);
    const mask = student!.inputs.find((i) => i.name === 'encoder_attention_mask')!.perRun![0]!;
    expect(mask.filter((x) => x === 1)).toHaveLength(16);
    expect(mask.slice(16).every((x) => x === 0)).toBe(true);
  });
});
