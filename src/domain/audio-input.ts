// A sound the user gives for audio-to-audio (a file or a recording), made ready for the pack:
// mixed to mono, resampled to the pack's rate (engine/resample.ts), cut or padded to its clip.
// Bad input is refused with a sentence that says what was wrong and what to do; nothing else.

import { resample } from '../engine/resample';

/** What the browser's decoder gives: one Float32Array per channel at `sampleRate`. */
export interface DecodedAudio {
  channels: Float32Array[];
  sampleRate: number;
}

/** The pack's clip (manifest.audio). */
export interface ClipFormat {
  sample_rate: number;
  num_samples: number;
  clip_seconds: number;
}

/** A sound ready to start from: the pack's rate and length, and what was done to it, in words. */
export interface InputSound {
  name: string;
  waveform: Float32Array;
  /** seconds of the original */
  seconds: number;
  sampleRate: number;
  notes: string[];
}

/** Longer sounds are refused: only the first clip is used, and decoding an hour would stall the page. */
export const MAX_INPUT_SECONDS = 60;
/** Below this the sound has no content above 4 kHz to keep; it is most likely a wrong header. */
export const MIN_INPUT_RATE = 8000;
export const MAX_INPUT_RATE = 384000;

/** A sound that cannot be used, with the sentence the page shows. */
export class AudioInputError extends Error {}

const fmt = (s: number): string => `${Number(s.toFixed(2))} s`;

/** Mono at the pack's rate, `num_samples` long, or an AudioInputError saying why not. */
export function prepareInputSound(name: string, decoded: DecodedAudio, clip: ClipFormat): InputSound {
  const { channels, sampleRate } = decoded;
  const length = channels[0]?.length ?? 0;
  if (length === 0) throw new AudioInputError(`“${name}” holds no sound (0 samples). Choose another file or record again.`);
  if (!(sampleRate >= MIN_INPUT_RATE && sampleRate <= MAX_INPUT_RATE)) {
    throw new AudioInputError(
      `“${name}” is sampled at ${sampleRate} Hz; sounds between ${MIN_INPUT_RATE} and ${MAX_INPUT_RATE} Hz can be used. Export it again at 16000 Hz or more.`,
    );
  }
  const seconds = length / sampleRate;
  if (seconds > MAX_INPUT_SECONDS) {
    throw new AudioInputError(
      `“${name}” is ${fmt(seconds)} long; at most ${MAX_INPUT_SECONDS} s are accepted, and only the first ${fmt(clip.clip_seconds)} are used. Trim it and choose it again.`,
    );
  }
  // only the first clip is used: resample it (and the sinc's reach past its end), not the whole sound
  const used = Math.min(length, Math.ceil(clip.clip_seconds * sampleRate) + 64);
  const mono = new Float32Array(used);
  for (const ch of channels) for (let i = 0; i < used; i++) mono[i]! += ch[i]! / channels.length;
  const notes: string[] = [];
  if (channels.length > 1) notes.push(`${channels.length} channels mixed to one`);
  const atRate = resample(mono, sampleRate, clip.sample_rate);
  if (sampleRate !== clip.sample_rate) notes.push(`resampled from ${sampleRate} Hz to ${clip.sample_rate} Hz`);
  const waveform = new Float32Array(clip.num_samples);
  waveform.set(atRate.subarray(0, clip.num_samples));
  if (length > used || atRate.length > clip.num_samples) notes.push(`only its first ${fmt(clip.clip_seconds)} are used (the pack makes ${fmt(clip.clip_seconds)} clips)`);
  if (atRate.length < clip.num_samples) notes.push(`padded with silence from ${fmt(seconds)} to ${fmt(clip.clip_seconds)}`);
  return { name, waveform, seconds, sampleRate, notes };
}
