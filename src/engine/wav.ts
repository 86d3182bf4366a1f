// RIFF/WAVE encoding (16-bit PCM, mono) for downloads and the CLI, and a parser for tests.

export interface ParsedWav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** interleaved samples scaled to [-1, 1] */
  samples: Float32Array;
}

/** 16-bit PCM mono WAV; samples are clamped to [-1, 1] (negative full scale -32768, positive 32767). */
export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`bad sample rate ${sampleRate}`);
  const dataBytes = samples.length * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  writeAscii(bytes, 0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  writeAscii(bytes, 8, 'WAVE');
  writeAscii(bytes, 12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  writeAscii(bytes, 36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    const c = Number.isNaN(x) ? 0 : Math.max(-1, Math.min(1, x));
    view.setInt16(44 + 2 * i, Math.round(c < 0 ? c * 32768 : c * 32767), true);
  }
  return bytes;
}

/** Parses PCM 8/16/24/32-bit integer or 32-bit float WAV (what encodeWav and common tools write). */
export function parseWav(bytes: Uint8Array): ParsedWav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || readAscii(bytes, 0, 4) !== 'RIFF' || readAscii(bytes, 8, 4) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let format = 0;
  let channels = 0;
  let sampleRate = 0;
  let bitsPerSample = 0;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = readAscii(bytes, offset, 4);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bitsPerSample = view.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE
    } else if (id === 'data') {
      if (channels === 0) throw new Error('WAV data chunk before fmt chunk');
      const length = Math.min(size, bytes.length - body);
      return { sampleRate, channels, bitsPerSample, samples: decodeSamples(view, body, length, format, bitsPerSample) };
    }
    offset = body + size + (size % 2); // chunks are word aligned
  }
  throw new Error('WAV has no data chunk');
}

function decodeSamples(view: DataView, start: number, length: number, format: number, bits: number): Float32Array {
  const width = bits / 8;
  const n = Math.floor(length / width);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const p = start + i * width;
    if (format === 3 && bits === 32) out[i] = view.getFloat32(p, true);
    else if (format !== 1) throw new Error(`unsupported WAV format ${format} with ${bits} bits`);
    else if (bits === 16) out[i] = view.getInt16(p, true) / 32768;
    else if (bits === 8) out[i] = (view.getUint8(p) - 128) / 128;
    else if (bits === 24) {
      const v = view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16);
      out[i] = v / 8388608;
    } else if (bits === 32) out[i] = view.getInt32(p, true) / 2147483648;
    else throw new Error(`unsupported PCM bit depth ${bits}`);
  }
  return out;
}

function writeAscii(bytes: Uint8Array, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
}

function readAscii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}
