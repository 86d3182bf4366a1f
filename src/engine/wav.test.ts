import { describe, expect, it } from 'vitest';
import { encodeWav, parseWav } from './wav';

describe('encodeWav / parseWav', () => {
  it('round-trips 16-bit PCM mono to within two quantization steps', () => {
    const n = 16000;
    const x = new Float32Array(n).map((_, i) => 0.8 * Math.sin((2 * Math.PI * 440 * i) / 16000));
    const bytes = encodeWav(x, 16000);
    expect(bytes.length).toBe(44 + 2 * n);
    const wav = parseWav(bytes);
    expect(wav.sampleRate).toBe(16000);
    expect(wav.channels).toBe(1);
    expect(wav.bitsPerSample).toBe(16);
    expect(wav.samples.length).toBe(n);
    let err = 0;
    for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(wav.samples[i]! - x[i]!));
    expect(err).toBeLessThanOrEqual(2 / 32768); // encode scales by 32767, parse by 32768
  });

  it('writes a standard RIFF header', () => {
    const bytes = encodeWav(new Float32Array(10), 22050);
    const text = (o: number): string => String.fromCharCode(...bytes.subarray(o, o + 4));
    const view = new DataView(bytes.buffer);
    expect([text(0), text(8), text(12), text(36)]).toEqual(['RIFF', 'WAVE', 'fmt ', 'data']);
    expect(view.getUint32(4, true)).toBe(36 + 20);
    expect(view.getUint32(24, true)).toBe(22050);
    expect(view.getUint32(28, true)).toBe(44100);
    expect(view.getUint32(40, true)).toBe(20);
  });

  it('clamps out-of-range samples and maps NaN to 0', () => {
    const wav = parseWav(encodeWav(new Float32Array([2, -2, 1, -1, Number.NaN, 0.5]), 8000));
    expect(Array.from(wav.samples.subarray(0, 5))).toEqual([32767 / 32768, -1, 32767 / 32768, -1, 0]);
    expect(wav.samples[5]).toBeCloseTo(0.5, 4);
  });

  it('parses 32-bit float WAV and skips unknown chunks', () => {
    const samples = [0.25, -0.5];
    const bytes = new Uint8Array(12 + 8 + 16 + 8 + 4 + 8 + 8);
    const v = new DataView(bytes.buffer);
    const put = (o: number, s: string): void => s.split('').forEach((c, i) => (bytes[o + i] = c.charCodeAt(0)));
    put(0, 'RIFF');
    v.setUint32(4, bytes.length - 8, true);
    put(8, 'WAVE');
    put(12, 'fmt ');
    v.setUint32(16, 16, true);
    v.setUint16(20, 3, true);
    v.setUint16(22, 1, true);
    v.setUint32(24, 48000, true);
    v.setUint16(34, 32, true);
    put(36, 'LIST');
    v.setUint32(40, 4, true);
    put(48, 'data');
    v.setUint32(52, 8, true);
    v.setFloat32(56, samples[0]!, true);
    v.setFloat32(60, samples[1]!, true);
    const wav = parseWav(bytes);
    expect(wav.sampleRate).toBe(48000);
    expect(Array.from(wav.samples)).toEqual(samples);
  });

  it('rejects what is not a WAV', () => {
    expect(() => parseWav(new Uint8Array(50))).toThrow(/RIFF/);
    expect(() => encodeWav(new Float32Array(1), 0)).toThrow(RangeError);
  });
});
