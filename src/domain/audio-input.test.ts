// Preparing a user's sound for audio-to-audio: mono, the pack's rate and length; bad input refused in words.
import { describe, expect, it } from 'vitest';
import { AudioInputError, prepareInputSound } from './audio-input';

const clip = { sample_rate: 16000, num_samples: 40960, clip_seconds: 2.56 };
const tone = (rate: number, seconds: number, amp = 0.5): Float32Array =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * 440 * i) / rate));

describe('prepareInputSound', () => {
  it('mixes to mono, resamples to the pack rate and cuts to the clip, saying so', () => {
    const s = prepareInputSound('a.wav', { channels: [tone(44100, 4), tone(44100, 4, 0.1)], sampleRate: 44100 }, clip);
    expect(s.waveform.length).toBe(40960);
    expect(s.seconds).toBeCloseTo(4, 6);
    expect(Math.max(...s.waveform.subarray(1000, 2000))).toBeCloseTo(0.3, 2); // (0.5 + 0.1) / 2
    expect(s.notes).toEqual(['2 channels mixed to one', 'resampled from 44100 Hz to 16000 Hz', 'only its first 2.56 s are used (the pack makes 2.56 s clips)']);
  });

  it('pads a short sound with silence and keeps a sound at the pack rate as it is', () => {
    const x = tone(16000, 1);
    const s = prepareInputSound('b.wav', { channels: [x], sampleRate: 16000 }, clip);
    expect(Array.from(s.waveform.subarray(0, 16000))).toEqual(Array.from(x));
    expect(s.waveform.subarray(16000).every((v) => v === 0)).toBe(true);
    expect(s.notes).toEqual(['padded with silence from 1 s to 2.56 s']);
  });

  it.each([
    ['an empty file', { channels: [new Float32Array(0)], sampleRate: 16000 }, /holds no sound \(0 samples\)/],
    ['a wrong rate', { channels: [tone(4000, 1)], sampleRate: 4000 }, /sampled at 4000 Hz; sounds between 8000 and 384000 Hz can be used/],
    ['a sound too long', { channels: [new Float32Array(16000 * 61)], sampleRate: 16000 }, /is 61 s long; at most 60 s are accepted/],
  ])('refuses %s with a sentence', (_, decoded, message) => {
    expect(() => prepareInputSound('x.wav', decoded, clip)).toThrow(AudioInputError);
    expect(() => prepareInputSound('x.wav', decoded, clip)).toThrow(message);
  });
});
