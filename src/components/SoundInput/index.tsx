// "Start from a sound" (audio-to-audio, SDEdit, docs/sampling.md E22): drop or choose a file, or
// record from the microphone; the sound is made ready for the pack (domain/audio-input.ts) and
// shown with what was done to it; a strength from 0 (the sound as is) to 1 (ignored), then
// Generate from it with the form's prompt and model. A pack without a VAE encoder shows the
// control disabled with the reason. A bad file leaves the sound chosen before in place.

import { useId, useState } from 'react';
import { AudioInputError, prepareInputSound, type InputSound } from '../../domain/audio-input';
import { encodeWav } from '../../engine/wav';
import type { LatentEdit } from '../../runtime/api';
import { selectGenerateBlocker, useStore } from '../../store';
import { decodeSound, recordMicrophone } from './decode';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function SoundInput({ onGenerate }: { onGenerate: (edit: LatentEdit) => void }) {
  const pack = useStore((s) => s.manifest);
  const busy = useStore((s) => selectGenerateBlocker(s) !== null || s.job !== null);
  const [sound, setSound] = useState<(InputSound & { url: string }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [strength, setStrength] = useState(0.5);
  const [recording, setRecording] = useState(false);
  const [dragging, setDragging] = useState(false);
  const id = useId();
  if (!pack) return null;
  const clip = { sample_rate: pack.sampleRate, num_samples: pack.numSamples, clip_seconds: pack.clipSeconds };

  const take = async (blob: Blob, name: string): Promise<void> => {
    try {
      const ready = prepareInputSound(name, await decodeSound(blob, name), clip);
      if (sound) URL.revokeObjectURL(sound.url);
      const wav = new Blob([encodeWav(ready.waveform, clip.sample_rate).slice().buffer], { type: 'audio/wav' });
      setSound({ ...ready, url: URL.createObjectURL(wav) });
      setError(null);
    } catch (e) {
      setError(e instanceof AudioInputError ? e.message : `“${name}” could not be read (${message(e)}).`);
    }
  };

  if (!pack.vaeEncoder) {
    return (
      <section className="card sound-input" aria-labelledby={`${id}-h`} data-testid="sound-input">
        <h2 id={`${id}-h`}>Start from a sound</h2>
        <p className="note" data-testid="sound-input-reason">
          Not available with this pack: it has no VAE encoder, so a sound cannot be turned into its latent space. A pack
          whose manifest lists a <code>vae_encoder</code> can do it.
        </p>
        <input type="file" aria-label="Sound file" disabled />
      </section>
    );
  }

  return (
    <section
      className={`card sound-input${dragging ? ' dragging' : ''}`}
      aria-labelledby={`${id}-h`}
      data-testid="sound-input"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        const file = e.dataTransfer.files[0];
        if (file) void take(file, file.name);
      }}
    >
      <h2 id={`${id}-h`}>Start from a sound</h2>
      <p className="muted hint">
        Drop a sound here, choose a file or record {pack.clipSeconds} s; the first {pack.clipSeconds} s are used at{' '}
        {pack.sampleRate} Hz. The prompt and model in the form say what it becomes.
      </p>
      <div className="sound-input-row">
        <label htmlFor={`${id}-file`}>Sound file</label>
        <input
          id={`${id}-file`}
          type="file"
          accept="audio/*,.wav,.mp3,.ogg,.flac"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void take(file, file.name);
          }}
        />
        <button
          type="button"
          className="secondary"
          disabled={recording}
          onClick={() => {
            setRecording(true);
            recordMicrophone(pack.clipSeconds)
              .then((blob) => take(blob, 'microphone recording'))
              .catch((e: unknown) => setError(message(e)))
              .finally(() => setRecording(false));
          }}
        >
          {recording ? 'Recording…' : `Record ${pack.clipSeconds} s`}
        </button>
      </div>
      {error && (
        <p className="note" role="alert" data-testid="sound-input-error">
          {error}
        </p>
      )}
      {sound && (
        <div data-testid="sound-input-chosen">
          <p>
            <strong>{sound.name}</strong> ({Number(sound.seconds.toFixed(2))} s at {sound.sampleRate} Hz)
            {sound.notes.length > 0 && <span className="muted">: {sound.notes.join('; ')}</span>}
          </p>
          <audio controls src={sound.url} aria-label={`Play ${sound.name} as the pack hears it`} />
          <label htmlFor={`${id}-strength`}>
            Strength <output data-testid="strength-value">{strength}</output>
          </label>
          <input
            id={`${id}-strength`}
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={strength}
            onChange={(e) => setStrength(e.target.valueAsNumber)}
            aria-describedby={`${id}-strength-hint`}
          />
          <p id={`${id}-strength-hint`} className="muted hint">
            0 keeps the sound as it is, 1 ignores it; in between, the higher the more the prompt reshapes it.
          </p>
          <button type="button" disabled={busy} onClick={() => onGenerate({ kind: 'audio', waveform: sound.waveform, strength })}>
            Generate from this sound
          </button>
        </div>
      )}
    </section>
  );
}
