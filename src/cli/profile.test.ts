// The profile command's parts on the shipped pack with ONNX Runtime's real profilers (onnxruntime-node's
// file, onnxruntime-web's printed trace): per-operator sums from ORT's own trace, and the inputs each
// graph gets.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { OrtModule } from '../runtime/ort';
import { join } from 'node:path';
import { ortNode, REPO_DIR, requirePack } from '../testing/pack';
import { captureStdout, encodeProfilePrompt, profilePack, profileTargets, readManifest, traceFromPrinted } from './profile';
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

  it("in int8, profiles the default student's variant (what the page runs on WASM) and every other graph's own file", async () => {
    const packDir = join(REPO_DIR, 'public/models/soundstep-small-next'); // the app's default pack, which has one
    const m = await readManifest(packDir);
    const int8 = profileTargets(m, [m.default_denoiser!, 'teacher'], await encodeProfilePrompt(packDir, m), 'int8');
    const student = m.denoisers.find((d) => d.id === m.default_denoiser)!;
    expect(int8.map((t) => t.file)).toEqual([
      m.text.encoder,
      'denoisers/snr-trunc-25.int8.onnx',
      'denoisers/teacher.onnx',
      m.vae_decoder.file,
      m.vocoder.file,
    ]);
    expect(int8.map((t) => t.label)).toContain(`${student.id} (batch 1) int8`);
  });

  it('takes what onnxruntime-web prints aside and reads the trace in it', async () => {
    const printed = await captureStdout(() => {
      fs.writeSync(1, 'a line before it\n[\n{"cat" : "Node", "name" : "c_kernel_time", "dur" : 7, "args" : {"op_name" : "Conv"}}\n');
      fs.writeSync(1, ']\n');
    });
    expect(opTimes(traceFromPrinted(printed))).toEqual([{ op: 'Conv', calls: 1, totalUs: 7 }]);
    expect(() => traceFromPrinted('no profile here')).toThrow(/printed no profile/);
  });

  it('profiles the vocoder on onnxruntime-web WASM from its printed trace, leaving standard output alone', async () => {
    const web = (await import('onnxruntime-web')) as unknown as OrtModule & { env: { wasm: { numThreads: number } } };
    web.env.wasm.numThreads = 1;
    const packDir = requirePack();
    const m = await readManifest(packDir);
    const write = fs.writeSync;
    let leaked = 0;
    const spy = ((fd: number, ...rest: never[]) => {
      if (fd === 1) leaked += 1;
      return (write as (...a: unknown[]) => number)(fd, ...rest);
    }) as typeof fs.writeSync;
    (fs as { writeSync: typeof fs.writeSync }).writeSync = spy;
    try {
      const rows = await profilePack({
        ort: web,
        backend: 'wasm',
        packDir,
        sessionOptions: () => ({ executionProviders: ['wasm'], graphOptimizationLevel: 'all' }),
        runs: 2,
        denoiserIds: [],
      });
      const vocoder = rows.find((r) => r.file === m.vocoder.file)!;
      // the same kernels per evaluation as onnxruntime-node's (above): 10 Conv and 2 ConvTranspose
      const ops = Object.fromEntries(vocoder.ops.top.map((o) => [o.op, o.calls]));
      expect([ops.Conv, ops.ConvTranspose]).toEqual([10, 2]);
      expect(vocoder.ops.kernelMs).toBeGreaterThan(0);
    } finally {
      (fs as { writeSync: typeof fs.writeSync }).writeSync = write;
    }
    expect(leaked).toBe(0);
  }, 180_000);
});
