// The profile command's parts on the shipped pack with onnxruntime-node's real profiler:
// per-operator sums from ORT's own trace, and the inputs each graph gets.
import { describe, expect, it } from 'vitest';
import { ortNode, requirePack } from '../testing/pack';
import { encodeProfilePrompt, profilePack, profileTargets, readManifest } from './profile';
import { opTimes, runTimes, summarize } from './profile-trace';

describe('profile', () => {
  it('sums ORT kernel events per operator and leaves fences and sessions out', () => {
    const trace = [
      { cat: 'Session', name: 'model_run', dur: 900 },
      { cat: 'Node', name: 'conv1_kernel_time', dur: 300, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'conv1_fence_before', dur: 5, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'conv2_kernel_time', dur: 200, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'add_kernel_time', dur: 100, args: { op_name: 'Add' } },
      { cat: 'Session', name: 'model_run', dur: 700 },
    ];
    expect(opTimes(trace)).toEqual([
      { op: 'Conv', calls: 2, totalUs: 500 },
      { op: 'Add', calls: 1, totalUs: 100 },
    ]);
    expect(runTimes(trace)).toEqual([900, 700]);
    const s = summarize(opTimes(trace), 2, 1);
    expect(s.kernelMs).toBeCloseTo(0.3);
    expect(s.kernelsPerRun).toBe(1.5);
    expect(s.top).toEqual([{ op: 'Conv', share: 500 / 600, ms: 0.25, calls: 1 }]);
    expect(() => opTimes({})).toThrow(/JSON array/);
  });

  it('feeds the guided teacher batch 2 and a student batch 1', async () => {
    const packDir = requirePack();
    const m = await readManifest(packDir);
    const prompt = await encodeProfilePrompt(packDir, m);
    // the pack's own tokenizer: [CLS] a dog bark ##s [SEP] in the shipped BERT WordPiece vocabulary
    expect([...prompt.inputIds.slice(0, 7)]).toEqual([101n, 1037n, 3899n, 11286n, 2015n, 102n, BigInt(m.text.pad_token_id)]);
    const targets = profileTargets(m, ['snr+1-25', 'teacher'], prompt);
    expect(targets.map((t) => [t.label, t.batch])).toEqual([
      ['text encoder (batch 1)', 1],
      ['snr+1-25 (batch 1)', 1],
      ['teacher (batch 2)', 2],
      ['VAE decoder', 1],
      ['vocoder', 1],
    ]);
    const teacherFeeds = targets[2]!.feeds(await ortNode());
    expect([...teacherFeeds.encoder_attention_mask!.data as BigInt64Array].filter((x) => x === 1n)).toHaveLength(2 * 6);
    expect(() => profileTargets(m, ['nope'], prompt)).toThrow(/"nope" is not in this pack/);
  });

  it("profiles the vocoder with onnxruntime-node: every kernel of each run is counted once", async () => {
    const ort = await ortNode();
    const packDir = requirePack();
    const m = await readManifest(packDir);
    const rows = await profilePack({
      ort,
      backend: 'cpu',
      packDir,
      sessionOptions: () => ({ executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all' }),
      runs: 2,
      denoiserIds: [],
    });
    const vocoder = rows.find((r) => r.file === m.vocoder.file);
    expect(vocoder?.medianMs).toBeGreaterThan(0);
    // the optimized vocoder runs 10 Conv and 2 ConvTranspose kernels per evaluation (its graph has 10 and 2)
    const ops = vocoder?.ops?.top ?? [];
    expect(ops.find((o) => o.op === 'Conv')?.calls).toBe(10);
    expect(ops.find((o) => o.op === 'ConvTranspose')?.calls).toBe(2);
    expect(rows.map((r) => r.file)).toEqual([m.text.encoder, m.vae_decoder.file, m.vocoder.file]);
  }, 120_000);
});
