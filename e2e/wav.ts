// A small RIFF/WAVE reader for the tests: header fields, the data chunk, samples as float.

export interface ParsedWav {
  /** 1 = PCM integer, 3 = IEEE float */
  audioFormat: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** the RIFF chunk size field (file size - 8) */
  riffSize: number;
  /** bytes in the data chunk as its header says */
  dataBytes: number;
  /** samples per channel */
  numSamples: number;
  /** first channel, scaled to [-1, 1] */
  samples: Float32Array;
}

const tag = (v: DataView, at: number): string =>
  String.fromCharCode(v.getUint8(at), v.getUint8(at + 1), v.getUint8(at + 2), v.getUint8(at + 3));

/** Parse a WAV file; throws with the reason when it is not a well-formed one. */
export function parseWav(bytes: Uint8Array): ParsedWav {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 44) throw new Error(`WAV too short: ${bytes.byteLength} bytes`);
  if (tag(v, 0) !== 'RIFF') throw new Error(`no RIFF tag: ${tag(v, 0)}`);
  if (tag(v, 8) !== 'WAVE') throw new Error(`no WAVE tag: ${tag(v, 8)}`);
  const riffSize = v.getUint32(4, true);
  if (riffSize !== bytes.byteLength - 8) throw new Error(`RIFF size ${riffSize} != file size - 8 (${bytes.byteLength - 8})`);

  let fmt: { audioFormat: number; channels: number; sampleRate: number; bitsPerSample: number } | null = null;
  let at = 12;
  while (at + 8 <= bytes.byteLength) {
    const id = tag(v, at);
    const size = v.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      fmt = {
        audioFormat: v.getUint16(body, true),
        channels: v.getUint16(body + 2, true),
        sampleRate: v.getUint32(body + 4, true),
        bitsPerSample: v.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('data chunk before fmt chunk');
      if (body + size > bytes.byteLength) throw new Error(`data chunk (${size} bytes) runs past the end of the file`);
      const bytesPerSample = fmt.bitsPerSample / 8;
      const frame = bytesPerSample * fmt.channels;
      if (size % frame !== 0) throw new Error(`data size ${size} is not a multiple of the frame size ${frame}`);
      const numSamples = size / frame;
      const samples = new Float32Array(numSamples);
      for (let i = 0; i < numSamples; i++) {
        const p = body + i * frame;
        if (fmt.audioFormat === 3 && fmt.bitsPerSample === 32) samples[i] = v.getFloat32(p, true);
        else if (fmt.audioFormat === 1 && fmt.bitsPerSample === 16) samples[i] = v.getInt16(p, true) / 32768;
        else throw new Error(`unsupported WAV format ${fmt.audioFormat}/${fmt.bitsPerSample} bits`);
      }
      return { ...fmt, riffSize, dataBytes: size, numSamples, samples };
    }
    at = body + size + (size % 2);
  }
  throw new Error('no data chunk');
}

/** Root mean square of the samples. */
export function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}
