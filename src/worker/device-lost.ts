// A lost WebGPU device: GPUDevice.lost resolves (driver reset, the device destroyed) or an ONNX
// Runtime run fails on WebGPU. The worker marks the device lost, so no further run starts on it
// (the run in flight ends in an error reply with deviceLost: true), and queues a rebuild of the
// same pack on WASM; the page tells the user in one sentence and offers Retry for the
// interrupted job. Results already made are the page's and stay.

import { SoundstepError } from '../runtime/errors';
import type { LoadRequest } from './protocol';
import type { Loaded, WorkerContext } from './worker-context';

/** The part of GPUDevice we use (TypeScript's DOM lib has no WebGPU types). */
export interface GpuDeviceLike {
  readonly lost: Promise<{ reason?: string; message?: string }>;
  destroy(): void;
}

/** What a run throws once the device is lost (kind 'device', so the job runner treats it as such). */
export const deviceLostError = (reason: string): SoundstepError =>
  new SoundstepError('device', `the WebGPU device was lost (${reason})`);

/** The one sentence the user reads: what went wrong, and what to do. */
export function deviceLostMessage(reason: string): string {
  return `The graphics device stopped working (WebGPU: ${reason}), so soundstep now runs on WASM; press Retry to make the interrupted sound again.`;
}

/** Marks the loaded pack's device lost (once) and has the router queue the rebuild. */
export function markDeviceLost(ctx: WorkerContext, reason: string): void {
  if (ctx.deviceLost !== null || ctx.loaded?.backend !== 'webgpu') return;
  ctx.deviceLost = reason;
  for (const tell of ctx.lostListeners) tell(reason);
  ctx.onDeviceLost?.(reason);
}

/** `run`, or its rejection as soon as the device is lost (a run on a lost device may never settle). */
export function untilDeviceLost<T>(ctx: WorkerContext, run: () => Promise<T>): Promise<T> {
  if (ctx.deviceLost !== null) return Promise.reject(deviceLostError(ctx.deviceLost));
  return new Promise<T>((resolve, reject) => {
    const onLost = (reason: string): void => reject(deviceLostError(reason));
    ctx.lostListeners.add(onLost);
    run()
      .then(resolve, reject)
      .finally(() => ctx.lostListeners.delete(onLost));
  });
}

/** Watches `device` of `loaded`: when it is lost while that pack is in use, the device is marked lost. */
export function watchDevice(ctx: WorkerContext, loaded: Loaded, device: GpuDeviceLike): void {
  void device.lost.then((info) => {
    if (ctx.loaded !== loaded) return; // another pack (or device) is in use by now
    markDeviceLost(ctx, (info.message || info.reason || 'unknown reason').replace(/\.$/, ''));
  });
}

/** Loads the pack that ran on the lost device again on WASM (through `load`: pack-loader's runLoad), saying why as the device reason. */
export async function rebuildOnWasm(ctx: WorkerContext, load: (req: LoadRequest) => Promise<void>, reason: string): Promise<void> {
  const lost = ctx.loaded;
  if (!lost || lost.backend !== 'webgpu') return;
  await load({
    type: 'load',
    packUrl: lost.packUrl,
    backend: 'wasm',
    because: `WebGPU: the device was lost (${reason}), using WASM (${lost.device.threads} threads)`,
  });
}
