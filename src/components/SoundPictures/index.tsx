import { useEffect, useRef, useState } from 'react';
import { logMel, type MelConfig } from '../../engine/mel';
import { melImage } from './draw';
import { drawWaveform, samplesOf, WAVE_H, WAVE_W } from './paint';

function drawSpectrogram(canvas: HTMLCanvasElement, x: Float32Array, mel: MelConfig): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const lm = logMel(x, mel);
  canvas.width = lm.frames;
  canvas.height = lm.mels;
  ctx.putImageData(new ImageData(melImage(lm), lm.frames, lm.mels), 0, 0);
}

/**
 * The waveform and the log-mel spectrogram of a result, drawn from its WAV (so restored
 * results draw the same way). The spectrogram is src/engine/mel.ts with the pack's settings.
 * `compact`: the spectrogram alone, small and without captions (a comparison grid cell).
 */
export function SoundPictures({ wav, mel, label, compact = false }: { wav: Blob; mel: MelConfig; label: string; compact?: boolean }) {
  const waveRef = useRef<HTMLCanvasElement>(null);
  const specRef = useRef<HTMLCanvasElement>(null);
  // how the pictures of which (wav, mel) ended: another pair is 'drawing' until its effect ends
  const [ended, setEnded] = useState<{ wav: Blob; mel: MelConfig; state: 'drawn' | 'failed' } | null>(null);
  const state = ended?.wav === wav && ended.mel === mel ? ended.state : 'drawing';

  useEffect(() => {
    let live = true;
    samplesOf(wav)
      .then((x) => {
        if (!live) return;
        if (waveRef.current) drawWaveform(waveRef.current, x);
        if (specRef.current) drawSpectrogram(specRef.current, x, mel);
        setEnded({ wav, mel, state: 'drawn' });
      })
      .catch(() => live && setEnded({ wav, mel, state: 'failed' }));
    return () => {
      live = false;
    };
  }, [wav, mel]);

  if (compact) {
    return (
      <div className="pictures compact" data-state={state}>
        <canvas ref={specRef} className="spectrogram" role="img" aria-label={`Log-mel spectrogram of ${label}`} data-testid="cell-spectrogram" />
      </div>
    );
  }
  return (
    <div className="pictures" data-state={state}>
      <figure>
        <canvas
          ref={waveRef}
          width={WAVE_W}
          height={WAVE_H}
          className="waveform"
          role="img"
          aria-label={`Waveform of ${label}`}
          data-testid="waveform"
        />
        <figcaption className="muted">Waveform (scaled to its peak)</figcaption>
      </figure>
      <figure>
        <canvas ref={specRef} className="spectrogram" role="img" aria-label={`Log-mel spectrogram of ${label}`} data-testid="spectrogram" />
        <figcaption className="muted">
          Log-mel spectrogram ({mel.n_mels} mels, {mel.f_min}–{mel.f_max / 1000} kHz, low at the bottom)
        </figcaption>
      </figure>
      {state === 'failed' && <p className="muted">The pictures could not be drawn for this sound.</p>}
    </div>
  );
}
