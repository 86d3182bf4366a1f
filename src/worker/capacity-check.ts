// The worker's side of the capacity check (src/runtime/capacity.ts): reads what the browser can
// tell before a download (the WebGPU adapter's limits, the storage estimate, which files the cache
// already holds) and stops a load that cannot fit with a sentence that says why and what to do.

import { onDemandProblem, planCapacity, type CapacityPlan, type GpuBufferLimits, type StorageRoom } from '../runtime/capacity';
import { SoundstepError } from '../runtime/errors';
import { packGraphs, type PackGraph, type PrecisionChoice } from '../runtime/graphs';
import type { Manifest } from '../runtime/manifest';
import { cacheKey, fileUrl, type CacheLike } from '../runtime/pack-cache';
import type { DeviceChoice } from './device';
import type { Loaded } from './worker-context';

/** A load stopped before downloading because the device cannot hold the pack (kind 'device'). */
export class CapacityError extends SoundstepError {
  constructor(problem: string) {
    super('device', problem);
    this.name = 'CapacityError';
  }
}

/** The adapter's buffer limits (GPUAdapter.limits), or null off WebGPU or when the adapter gives none. */
export function adapterLimits(device: DeviceChoice): GpuBufferLimits | null {
  const limits = (device.adapter as { limits?: Partial<GpuBufferLimits> } | undefined)?.limits;
  const { maxBufferSize, maxStorageBufferBindingSize } = limits ?? {};
  if (typeof maxBufferSize !== 'number' || typeof maxStorageBufferBindingSize !== 'number') return null;
  return { maxBufferSize, maxStorageBufferBindingSize };
}

/** The manifest's files whose exact contents (URL and SHA-256) the cache already holds. */
export async function cachedFiles(cache: CacheLike | null, packUrl: string, m: Manifest): Promise<Set<string>> {
  if (!cache) return new Set();
  const keys = new Set((await cache.keys().catch(() => [])).map((r) => r.url));
  return new Set(Object.entries(m.files).flatMap(([f, e]) => (keys.has(cacheKey(fileUrl(packUrl, f), e.sha256)) ? [f] : [])));
}

export interface CapacityContext {
  device: DeviceChoice;
  packUrl: string;
  cache: CacheLike | null;
  storage: StorageRoom | null;
}

/**
 * The plan for `m`'s up-front graphs on `ctx.device` at `chosen` precision; throws CapacityError
 * (nothing downloaded yet) when they cannot fit.
 */
export async function checkCapacity(
  ctx: CapacityContext,
  m: Manifest,
  upFront: readonly PackGraph[],
  chosen: PrecisionChoice,
): Promise<CapacityPlan> {
  const plan = planCapacity({
    manifest: m,
    graphs: upFront,
    backend: ctx.device.backend,
    precision: chosen,
    shaderF16: ctx.device.shaderF16 ?? false,
    limits: adapterLimits(ctx.device),
    storage: ctx.storage,
    cached: await cachedFiles(ctx.cache, ctx.packUrl, m),
  });
  if (!plan.fits) throw new CapacityError(plan.problem ?? 'this pack does not fit this device');
  return plan;
}

/**
 * Before denoiser `id` downloads on first use: throws (kind 'input': this request, on this device,
 * beside what is loaded; nothing is lost) when it cannot fit, naming the file and what to do.
 */
export function checkOnDemand(loaded: Loaded, id: string): void {
  const { pipeline } = loaded;
  const graphs = packGraphs(pipeline.manifest);
  const missing = new Set(pipeline.notLoaded().map((g) => `${g.kind} ${g.denoiserId ?? ''}`));
  const graph = graphs.find((g) => g.kind === 'denoiser' && g.denoiserId === id);
  if (!graph) return; // validateRequest has refused an unknown id already
  const problem = onDemandProblem({
    manifest: pipeline.manifest,
    loaded: graphs.filter((g) => !missing.has(`${g.kind} ${g.denoiserId ?? ''}`)),
    graph,
    backend: loaded.backend,
    precision: loaded.ready.load?.precision ?? { dtype: 'float32', reason: 'float32 weights' },
    limits: adapterLimits(loaded.device),
  });
  if (problem) throw new SoundstepError('input', problem);
}
