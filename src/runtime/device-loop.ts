// The sampler loop on the WebGPU device (issue 21): the same DDIM loop as src/engine/sample.ts
// (docs/sampling.md E7, E8, E20), with guidance and the DDIM update run as the small ONNX step
// graph of ./step-graph.ts, so z and v stay GPU buffers between steps and the loop reads back
// once: the final latent. The pure engine stays the reference (and the WASM and Node path);
// src/runtime/step-graph.test.ts holds the step graph to it within 1e-6.
//
// Why: reading v back after every evaluation, guiding and stepping in JavaScript and uploading z
// again costs a GPU -> CPU round trip (mapAsync, a queue drain) per step; here a generation has
// one in the loop, whatever the step count.
//
// Per step, on the device:  U-Net(z_in, t, hidden) -> v   (pre-allocated GPU output, `fetches`)
//                           step graph(z, v, w, alpha_t, sigma_t, alpha_s, sigma_s) -> z_next (, z_rows)
// z ping-pongs between two buffers; with guidance z_rows (z_next twice) is the next U-Net input.
//
// Not on the device (the caller keeps the engine's loop): inpainting, whose constrain callback
// (E21) needs z on the CPU after every step. Progress: onStep gets k only; the engine's OnStep
// also passes z, but no consumer reads it (Pipeline.generate reports step numbers, the worker
// posts them), so z is not read back per step for it.
//
// Graph capture (enableGraphCapture) is not used: onnxruntime-web 1.30 replays neither the step graph
// nor the U-Net right with bound buffers (`npm run probe:graph-capture`, docs/speed.md).
//
// Runs here are not chained through PackSessions' queue: they run inside one generate(), and
// the worker runs one request at a time (its prompt reader waits for an empty chain).

import { alphaSigma, nextTimestep } from '../engine/schedule';
import { CancelledError, PackError } from './errors';
import { GRAPH_IO, type Graph } from './graph-io';
import type { OrtModule, OrtSession, OrtTensor } from './ort';
import { STEP_IO, stepGraphBytes, type StepScalars } from './step-graph';

/** WebGPU's buffer usage and map-mode flags (the spec's numbers; a worker in Node has no GPUBufferUsage). */
const USAGE = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, STORAGE: 0x0080 } as const;
const MAP_READ = 0x0001;

/** The part of a GPUBuffer used here. */
export interface GpuBufferLike {
  readonly size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

/** The part of a GPUDevice used here. */
export interface GpuDeviceLike {
  createBuffer(desc: { size: number; usage: number }): GpuBufferLike;
  createCommandEncoder(): { copyBufferToBuffer(src: GpuBufferLike, so: number, dst: GpuBufferLike, o: number, size: number): void; finish(): unknown };
  readonly queue: { writeBuffer(buffer: GpuBufferLike, offset: number, data: Float32Array): void; submit(commands: unknown[]): void };
}

/** onnxruntime-web's WebGPU build, with what IO binding needs (Tensor.fromGpuBuffer, env.webgpu.device). */
interface GpuOrt extends OrtModule {
  Tensor: OrtModule['Tensor'] & {
    fromGpuBuffer(buffer: GpuBufferLike, options: { dataType: 'float32'; dims: readonly number[] }): OrtTensor;
  };
  env: { webgpu: { device?: GpuDeviceLike | Promise<GpuDeviceLike> } };
}

/** What one loop needs: the denoiser, its text rows, the start latent and the grid (as sample()). */
export interface DeviceSampleArgs {
  denoiser: Graph;
  /** hidden [rows, L, H] and mask int64 [rows, L]: row 0 the prompt, row 1 the unconditional prompt */
  hidden: Float32Array;
  mask: BigInt64Array;
  /** z at grid[0], (1, C, T, F) */
  start: Float32Array;
  dims: readonly [number, number, number];
  grid: readonly number[];
  abar: Float64Array;
  /** E20's w; undefined for a student (one row) */
  guidance?: number;
  onStep?: (k: number) => void;
  signal?: AbortSignal;
}

/** The WebGPU build's module when `backend` runs on it and it can bind GPU buffers; else null. */
function gpuOrt(ort: OrtModule, backend: string): GpuOrt | null {
  const o = ort as Partial<GpuOrt>;
  return backend === 'webgpu' && typeof o.Tensor?.fromGpuBuffer === 'function' && o.env?.webgpu ? (o as GpuOrt) : null;
}

/** E7's alpha_t, sigma_t at t and alpha_s, sigma_s at s = the next grid point (E8), with E20's w. */
export function stepScalars(abar: Float64Array, grid: readonly number[], k: number, guidance?: number): StepScalars {
  const { alpha: alphaT, sigma: sigmaT } = alphaSigma(abar, grid[k]!);
  const { alpha: alphaS, sigma: sigmaS } = alphaSigma(abar, nextTimestep(grid, k));
  return { guidanceScale: guidance, alphaT, sigmaT, alphaS, sigmaS };
}

/** The sampler loop on the WebGPU device; one per Pipeline, its step graphs created on first use. */
export class DeviceLoop {
  private readonly stepSessions = new Map<1 | 2, Promise<OrtSession>>();

  private constructor(private readonly ort: GpuOrt) {}

  /** A loop for `backend`, or null where it cannot run (WASM, Node): the caller uses the engine's sample(). */
  static for(ort: OrtModule, backend: string): DeviceLoop | null {
    const g = gpuOrt(ort, backend);
    return g ? new DeviceLoop(g) : null;
  }

  /**
   * Whether this generation runs here. Opt-in for now: only while `__soundstepDeviceLoop` is set in
   * the generation worker (e2e/device-loop.webgpu.spec.ts sets it). It reads back 5-7 times per
   * 25-step generation against the engine loop's 30 with the same audio, but on SwiftShader (the
   * only adapter here) its steps are not faster, and no real GPU has timed it (docs/speed.md).
   * Never with a `constrain` (inpainting, E21: it needs z on the CPU after every step, so the
   * engine's loop keeps it).
   */
  runs(constrain?: unknown): boolean {
    return constrain === undefined && (globalThis as { __soundstepDeviceLoop?: boolean }).__soundstepDeviceLoop === true;
  }

  /** DDIM from args.start at grid[0] to x_hat at FINAL on the device (E7, E8, E20); reads back only the result. */
  async sample(args: DeviceSampleArgs): Promise<Float32Array> {
    const { dims, grid, guidance, signal } = args;
    const rows: 1 | 2 = guidance === undefined ? 1 : 2;
    const device = await this.ort.env.webgpu.device;
    if (!device) throw new Error('onnxruntime-web has no WebGPU device yet');
    const step = await this.stepSession(rows);
    const size = args.start.length;
    const buffers: GpuBufferLike[] = [];
    // sizes rounded up to 16 bytes, as onnxruntime-web's WebGPU backend allocates its own
    const buffer = (floats: number, init?: Float32Array): GpuBufferLike => {
      const b = device.createBuffer({ size: Math.ceil((floats * 4) / 16) * 16, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
      buffers.push(b);
      if (init) device.queue.writeBuffer(b, 0, init);
      return b;
    };
    const tensor = (b: GpuBufferLike, r: number): OrtTensor => this.ort.Tensor.fromGpuBuffer(b, { dataType: 'float32', dims: [r, ...dims] });
    try {
      // 1. Upload once: z at grid[0] (and its two rows for guidance), the text rows.
      let z = buffer(size, args.start);
      let zNext = buffer(size);
      const zRows = rows === 2 ? tensor(buffer(2 * size, repeatRows(args.start, 2)), 2) : null;
      const v = tensor(buffer(rows * size), rows);
      const L = args.mask.length / rows;
      const H = args.hidden.length / (rows * L);
      const hidden = this.ort.Tensor.fromGpuBuffer(buffer(args.hidden.length, args.hidden), { dataType: 'float32', dims: [rows, L, H] });
      const mask = new this.ort.Tensor('int64', args.mask, [rows, L]);
      for (let k = 0; k < grid.length; k++) {
        if (signal?.aborted) throw new CancelledError();
        // 2. v at t for every row: the U-Net writes into the pre-allocated v buffer
        const timestep = new this.ort.Tensor('int64', new BigInt64Array(rows).fill(BigInt(grid[k]!)), [rows]);
        const zIn = tensor(z, 1);
        const sample = zRows ?? zIn;
        await this.run(args.denoiser, { sample, timestep, encoder_hidden_states: hidden, encoder_attention_mask: mask }, { [GRAPH_IO.denoiser.output]: v });
        // 3. guidance (E20) and the DDIM step from t to s (E4, E7), into z_next (and z_rows)
        const feeds = { [STEP_IO.z]: zIn, [STEP_IO.v]: v, ...this.scalarFeeds(stepScalars(args.abar, grid, k, guidance)) };
        const out = tensor(zNext, 1);
        const fetches: Record<string, OrtTensor> = zRows ? { [STEP_IO.zNext]: out, [STEP_IO.zRows]: zRows } : { [STEP_IO.zNext]: out };
        await step.run(feeds, fetches);
        [z, zNext] = [zNext, z];
        args.onStep?.(k);
      }
      // 4. The one readback: x_hat at FINAL.
      return await readBack(device, z, size);
    } finally {
      for (const b of buffers) b.destroy();
    }
  }

  /** Releases the step graphs' sessions. */
  async dispose(): Promise<void> {
    for (const s of this.stepSessions.values()) await (await s.catch(() => null))?.release().catch(() => undefined);
    this.stepSessions.clear();
  }

  /** The step graph for `rows`, created once (on WebGPU, like the pack's graphs). */
  private stepSession(rows: 1 | 2): Promise<OrtSession> {
    let s = this.stepSessions.get(rows);
    if (!s) {
      s = this.ort.InferenceSession.create(stepGraphBytes(rows), { executionProviders: ['webgpu'] });
      this.stepSessions.set(rows, s);
      s.catch(() => this.stepSessions.delete(rows));
    }
    return s;
  }

  /** The step's scalars as rank-0 float32 feeds (ORT uploads these few bytes per step). */
  private scalarFeeds(s: StepScalars): Record<string, OrtTensor> {
    const f = (x: number): OrtTensor => new this.ort.Tensor('float32', Float32Array.of(x), []);
    const feeds: Record<string, OrtTensor> = {
      [STEP_IO.alphaT]: f(s.alphaT),
      [STEP_IO.sigmaT]: f(s.sigmaT),
      [STEP_IO.alphaS]: f(s.alphaS),
      [STEP_IO.sigmaS]: f(s.sigmaS),
    };
    if (s.guidanceScale !== undefined) feeds[STEP_IO.guidanceScale] = f(s.guidanceScale);
    return feeds;
  }

  /** One pack-graph run into pre-allocated GPU outputs; ORT's failure named with the graph (kind 'device'). */
  private async run(graph: Graph, feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor>): Promise<void> {
    try {
      await graph.session.run(feeds, fetches);
    } catch (e) {
      const text = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
      throw new PackError(graph.file, `running the ${graph.kind} graph on the WebGPU device failed: ${text}`, { cause: e, kind: 'device' });
    }
  }
}

/** Copies `floats` float32 values of `src` to the CPU: one mapAsync. */
async function readBack(device: GpuDeviceLike, src: GpuBufferLike, floats: number): Promise<Float32Array> {
  const bytes = floats * 4;
  const staging = device.createBuffer({ size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(src, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ);
    return new Float32Array(staging.getMappedRange().slice(0));
  } finally {
    staging.destroy();
  }
}

/** `rows` copies of x, one after the other: (C, T, F) -> (rows, C, T, F) (as engine/sample.ts). */
function repeatRows(x: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(x.length * rows);
  for (let r = 0; r < rows; r++) out.set(x, r * x.length);
  return out;
}
