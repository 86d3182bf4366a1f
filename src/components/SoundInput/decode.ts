// Reading a user's sound in the page: the browser decodes the file (WAV, MP3, OGG, FLAC, WebM
// from the microphone...) at the file's own rate when it is a WAV (so our resampler, not the
// browser's, goes to the pack's rate), at 48 kHz otherwise; the microphone records one clip.

import { AudioInputError, MAX_INPUT_RATE, MIN_INPUT_RATE, type DecodedAudio } from '../../domain/audio-input';

/** The sample rate a WAV header states, or null when the bytes are not a RIFF/WAVE file. */
export function wavHeaderRate(bytes: ArrayBuffer): number | null {
  if (bytes.byteLength < 28) return null;
  const v = new DataView(bytes);
  const tag = (at: number): string => String.fromCharCode(v.getUint8(at), v.getUint8(at + 1), v.getUint8(at + 2), v.getUint8(at + 3));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE' || tag(12) !== 'fmt ') return null;
  return v.getUint32(24, true);
}

/** Decode `file` into channels at its own rate (WAV) or 48 kHz; an AudioInputError when it is not a sound. */
export async function decodeSound(file: Blob, name: string): Promise<DecodedAudio> {
  const bytes = await file.arrayBuffer();
  const headerRate = wavHeaderRate(bytes);
  if (headerRate !== null && !(headerRate >= MIN_INPUT_RATE && headerRate <= MAX_INPUT_RATE)) {
    // refused before decoding: the browser's decoder cannot even open a context at some of these rates
    return { channels: [new Float32Array(1)], sampleRate: headerRate };
  }
  const context = new OfflineAudioContext(1, 1, headerRate ?? 48000);
  try {
    const buffer = await context.decodeAudioData(bytes);
    const channels = Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c));
    return { channels, sampleRate: buffer.sampleRate };
  } catch {
    throw new AudioInputError(`“${name}” is not a sound this browser can read. Choose a WAV, MP3, OGG or FLAC file.`);
  }
}

/** Record `seconds` from the microphone; the recording as a Blob (the browser's own format). */
export async function recordMicrophone(seconds: number): Promise<Blob> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new AudioInputError(`The microphone could not be opened (${why}). Allow it for this page, or choose a file instead.`);
  }
  try {
    const recorder = new MediaRecorder(stream);
    const parts: Blob[] = [];
    recorder.addEventListener('dataavailable', (e) => parts.push(e.data));
    const stopped = new Promise<void>((resolve) => recorder.addEventListener('stop', () => resolve()));
    recorder.start();
    // a little longer than the clip: the encoder's first frames can be late
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + 250));
    recorder.stop();
    await stopped;
    return new Blob(parts, { type: recorder.mimeType });
  } finally {
    for (const track of stream.getTracks()) track.stop();
  }
}
