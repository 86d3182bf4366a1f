// Pack slice: which pack, which device, per-file download progress, the manifest.

import type { StateCreator } from 'zustand';
import { offersSteps } from '../../engine/steps';
import type { BackendPreference, DeviceReply, FileReply, PhaseReply, ReadyReply } from '../../worker/protocol';

import type { Store } from '../index';

export interface PackActions {
  loadStarted: (packUrl: string, backend: BackendPreference) => void;
  deviceChosen: (reply: DeviceReply) => void;
  fileProgress: (reply: FileReply) => void;
  loadPhaseChanged: (reply: PhaseReply) => void;
  packReady: (reply: ReadyReply) => void;
  packFailed: () => void;
}

export type PackSlice = PackActions;

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
    }),
  deviceChosen: (r) =>
    set({ device: { backend: r.backend, reason: r.reason, threads: r.threads, crossOriginIsolated: r.crossOriginIsolated } }),
  fileProgress: (r) =>
    set((s) => ({ files: { ...s.files, [r.file]: { loaded: r.loaded, total: r.total, done: r.done, source: r.source } } })),
  loadPhaseChanged: (r) => set((s) => ({ loadPhase: r.phase, precision: r.precision ?? s.precision })),
  packReady: (r) =>
    set((s) => {
      const teacher = r.manifest.denoisers.find((d) => d.role === 'teacher') ?? r.manifest.denoisers[0];
      const denoiser = r.manifest.denoisers.find((d) => d.id === s.denoiserId) ?? teacher;
      const steps = denoiser && !offersSteps(denoiser, s.steps) ? (denoiser.steps[0] ?? s.steps) : s.steps;
      const guidanceScale = teacher?.guidance.type === 'classifier-free' ? teacher.guidance.defaultScale : s.guidanceScale;
      return {
        loadStatus: 'ready',
        manifest: r.manifest,
        loadMs: r.loadMs,
        denoiserId: denoiser?.id ?? null,
        steps,
        guidanceScale,
        // a restored pack (a later load failed) is the one in use again
        packUrl: r.packUrl,
        loadPhase: null,
        precision: r.load?.precision ?? s.precision,
        packLoad: r.load ?? null,
      };
    }),
  packFailed: () => set({ loadStatus: 'failed', loadPhase: null }),
});

