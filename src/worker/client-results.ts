// Results on the page's side: made from the worker's 'done', kept in and restored from the
// browser's history (IndexedDB), and their object URLs released once nothing shows them.

import type { MelConfig } from '../engine/mel';
import { wavFileName } from '../engine/filename';
import type { HistoryRecord } from '../history';
import type { AppState, GenerationResult } from '../store';
import type { DoneReply } from './protocol';

/** The mel settings a result is drawn with when the pack summary has none (the shipped pack's). */
function defaultMel(sampleRate: number): MelConfig {
  return { sample_rate: sampleRate, n_fft: 1024, hop_length: 160, win_length: 1024, n_mels: 64, f_min: 0, f_max: sampleRate / 2, log_floor: 1e-5 };
}

/** A listed result for a 'done' reply; `key` and `createdAt` name it in the list and the history. */
export function resultFromDone(reply: DoneReply, s: AppState, id: { key: string; createdAt: number }): GenerationResult {
  const wav = new Blob([reply.wav], { type: 'audio/wav' });
  const { status: _status, wav: bytes, id: _id, pack: _pack, ...rest } = reply;
  const request = reply.request;
  return {
    ...rest,
    key: id.key,
    createdAt: id.createdAt,
    // the worker names the pack that ran it: the page may already show the next one
    packId: reply.pack.id,
    packName: reply.pack.name,
    packUrl: reply.pack.url,
    url: URL.createObjectURL(wav),
    wav,
    fileName: wavFileName(request.prompt, request.denoiserId, request.steps, request.seed),
    bytes: bytes.byteLength,
    maxTokens: s.manifest?.maxTokens ?? null,
    mel: s.manifest?.mel ?? defaultMel(reply.sampleRate),
    restored: false,
  };
}

/** The record kept in IndexedDB for a result (the WAV bytes and what names and shows it). */
export function toRecord(r: GenerationResult, wav: ArrayBuffer): HistoryRecord {
  return {
    key: r.key,
    createdAt: r.createdAt,
    packId: r.packId,
    ...(r.packName ? { packName: r.packName } : {}),
    ...(r.packUrl ? { packUrl: r.packUrl } : {}),
    request: r.request,
    sampleRate: r.sampleRate,
    numSamples: r.numSamples,
    totalMs: r.totalMs,
    timings: r.timings,
    networkEvaluations: r.networkEvaluations,
    truncated: r.truncated,
    tokenCount: r.tokenCount,
    ...(r.timeSplit ? { timeSplit: r.timeSplit } : {}),
    fileName: r.fileName,
    mel: r.mel,
    maxTokens: r.maxTokens,
    wav,
    ...(r.latent ? { latent: r.latent } : {}),
  };
}

/** A result restored from the browser's history. */
export function fromRecord(r: HistoryRecord): GenerationResult {
  const wav = new Blob([r.wav], { type: 'audio/wav' });
  return {
    request: r.request,
    sampleRate: r.sampleRate,
    numSamples: r.numSamples,
    timings: r.timings,
    totalMs: r.totalMs,
    networkEvaluations: r.networkEvaluations,
    truncated: r.truncated,
    tokenCount: r.tokenCount,
    ...(r.timeSplit ? { timeSplit: r.timeSplit } : {}),
    key: r.key,
    createdAt: r.createdAt,
    packId: r.packId,
    ...(r.packName ? { packName: r.packName } : {}),
    ...(r.packUrl ? { packUrl: r.packUrl } : {}),
    url: URL.createObjectURL(wav),
    wav,
    fileName: r.fileName,
    bytes: r.wav.byteLength,
    maxTokens: r.maxTokens,
    mel: r.mel,
    restored: true,
    ...(r.latent ? { latent: r.latent } : {}),
  };
}

/** The results the grid shows. */
export function gridResults(s: AppState): GenerationResult[] {
  return Object.values(s.grid).flatMap((c) => (c.result ? [c.result] : []));
}

/** Object URLs of results that left both the list and the grid are released. */
export function revokeUnused(s: AppState, candidates: readonly GenerationResult[]): void {
  const live = new Set<string>([...s.results.map((r) => r.url), ...gridResults(s).map((r) => r.url)]);
  for (const r of candidates) if (!live.has(r.url)) URL.revokeObjectURL(r.url);
}
