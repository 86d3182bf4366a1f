// "Regenerate a range" on a result (inpainting, docs/sampling.md E21): drag across the sound's
// waveform, or type in two fields in seconds (the keyboard's way: type or use the arrow keys), and
// a button that makes a NEW result with the form's prompt and model in that range and this sound
// everywhere else; this one is kept.

import { useId, useState } from 'react';
import { inpaintEdit, rangeSeconds } from '../../domain/inpaint-range';
import type { LatentEdit } from '../../runtime/api';
import { selectGenerateBlocker, useStore, type GenerationResult } from '../../store';
import { RangeTrack } from './RangeTrack';
import './range-editor.css';

export function RangeEditor({ result, onInpaint }: { result: GenerationResult; onInpaint: (edit: LatentEdit) => void }) {
  const pack = useStore((s) => s.manifest);
  const busy = useStore((s) => selectGenerateBlocker(s) !== null || s.job !== null);
  const clip = pack?.clipSeconds ?? result.numSamples / result.sampleRate;
  const [from, setFrom] = useState(() => Number((clip / 4).toFixed(2)));
  const [to, setTo] = useState(() => Number((clip / 2).toFixed(2)));
  // one latent frame: what the track snaps to and the fields step by
  const frameSeconds = pack?.latentFrames ? Number((clip / pack.latentFrames).toFixed(4)) : 0.04;
  const id = useId();
  const plan = inpaintEdit(result, pack, from, to);
  const refusal = 'refusal' in plan ? plan.refusal : null;
  return (
    <details className="range-editor" data-testid="range-editor">
      <summary>Regenerate a range</summary>
      <p className="muted hint">
        The prompt and model in the form fill the range; the rest of this sound is kept as it is. The new sound is added
        to the list and this one stays. Drag across the waveform to choose the range, or type it.
      </p>
      {(!pack || result.numSamples === pack.numSamples) && (
        <RangeTrack
          wav={result.wav}
          clipSeconds={clip}
          frameSeconds={frameSeconds}
          from={from}
          to={to}
          onChange={(r) => {
            setFrom(r.from);
            setTo(r.to);
          }}
        />
      )}
      <div className="range-fields">
        <label htmlFor={`${id}-from`}>From (s)</label>
        <input id={`${id}-from`} type="number" min={0} max={clip} step={frameSeconds} value={from} onChange={(e) => setFrom(e.target.valueAsNumber)} />
        <label htmlFor={`${id}-to`}>To (s)</label>
        <input id={`${id}-to`} type="number" min={0} max={clip} step={frameSeconds} value={to} onChange={(e) => setTo(e.target.valueAsNumber)} />
        <button
          type="button"
          disabled={busy || refusal !== null}
          onClick={() => {
            if ('edit' in plan) onInpaint(plan.edit);
          }}
        >
          Regenerate this range
        </button>
      </div>
      {refusal && (
        <p className="note" data-testid="range-refusal">
          {refusal}
        </p>
      )}
    </details>
  );
}

/** " · range 0.64–1.28 s regenerated" or " · from a sound, strength 0.5": how an edited result was made. */
export function EditNote({ result }: { result: GenerationResult }) {
  const frames = useStore((s) => (s.manifest?.id === result.packId ? s.manifest.latentFrames : undefined));
  const edit = result.request.edit;
  if (!edit) return null;
  if (edit.kind === 'audio') return <span data-testid="edit-note"> · from a sound, strength {edit.strength}</span>;
  const range = frames ? rangeSeconds(edit, frames, result.numSamples / result.sampleRate).join('–') + ' s' : `latent frames ${edit.startFrame}–${edit.endFrame}`;
  return <span data-testid="edit-note"> · range {range} regenerated</span>;
}
