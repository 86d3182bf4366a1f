// Pack slice: which pack, which device, per-file download progress, the manifest.

import type { StateCreator } from 'zustand';
import { offersSteps } from '../../engine/steps';
import { defaultChoice } from '../../domain/default-denoiser';
import type { BackendPreference, DeviceReply, FileReply, PhaseReply, ReadyReply } from '../../worker/protocol';

import type { Store } from '../index';

export interface PackActions {
  loadStarted: (packUrl: string, backend: BackendPreference) => void;
  deviceChosen: (reply: DeviceReply) => void;
  fileProgress: (reply: FileReply) => void;
  loadPhaseChanged: (reply: PhaseReply) => void;
  packReady: (reply: ReadyReply) => void;
  packFailed: () => void;
  /** denoiser `id` was downloaded on its first use (DenoiserReadyReply) */
  denoiserDownloaded: (id: string) => void;
}

export type PackSlice = PackActions;

/** The denoisers of a ready pack that are not downloaded yet, with their bytes (older workers: none). */
function onDemandOf(r: ReadyReply): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of r.load?.onDemand ?? []) if (g.kind === 'denoiser' && g.denoiserId) out[g.denoiserId] = g.bytes;
  return out;
}

export const createPackSlice: StateCreator<Store, [], [], PackSlice> = (set) => ({
  loadStarted: (packUrl, backend) =>
    set({
      packUrl,
      backendPreference: backend,
      loadStatus: 'loading',
      files: {},
      manifest: null,
      loadMs: null,
      error: null,
      loadPhase: 'manifest',
      precision: null,
      packLoad: null,
      onDemand: {},
      // read with another pack's encoder and vocabulary: no longer applies
      promptReading: null,
    }),
  deviceChosen: (r) =>
    set({ device: { backend: r.backend, reason: r.reason, threads: r.threads, crossOriginIsolated: r.crossOriginIsolated } }),
  fileProgress: (r) =>
    set((s) => ({ files: { ...s.files, [r.file]: { loaded: r.loaded, total: r.total, done: r.done, source: r.source } } })),
  loadPhaseChanged: (r) => set((s) => ({ loadPhase: r.phase, precision: r.precision ?? s.precision })),
  packReady: (r) =>
    set((s) => {
      const all = r.manifest.denoisers;
      const teacher = all.find((d) => d.role === 'teacher') ?? all[0];
      // the denoiser chosen before stays when this pack has it; else the pack's default (its best 25-step student)
      const kept = all.find((d) => d.id === s.denoiserId);
      const start = kept ? null : defaultChoice(all, r.manifest.metrics, r.manifest.defaultDenoiser);
      const denoiser = kept ?? all.find((d) => d.id === start?.denoiserId) ?? teacher;
      const steps = start ? start.steps : denoiser && !offersSteps(denoiser, s.steps) ? (denoiser.steps[0] ?? s.steps) : s.steps;
      const guidanceScale = teacher?.guidance.type === 'classifier-free' ? teacher.guidance.defaultScale : s.guidanceScale;
      return {
        loadStatus: 'ready',
        manifest: r.manifest,
        loadMs: r.loadMs,
        denoiserId: denoiser?.id ?? null,
        studentMethod: kept ? s.studentMethod : denoiser?.role === 'student' ? denoiser.method : null,
        steps,
        guidanceScale,
        // a length this pack does not make falls back to its own
        seconds: s.seconds !== null && r.manifest.clipLengths?.includes(s.seconds) ? s.seconds : null,
        // a restored pack (a later load failed) is the one in use again
        packUrl: r.packUrl,
        loadPhase: null,
        precision: r.load?.precision ?? s.precision,
        packLoad: r.load ?? null,
        onDemand: onDemandOf(r),
      };
    }),
  packFailed: () => set({ loadStatus: 'failed', loadPhase: null }),
  denoiserDownloaded: (id) =>
    set((s) => {
      if (!(id in s.onDemand)) return {};
      const { [id]: _done, ...rest } = s.onDemand;
      return { onDemand: rest };
    }),
});

