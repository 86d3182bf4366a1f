import { useId, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import {
  GUIDANCE_RANGE,
  MAX_VARIATIONS,
  selectDenoiser,
  selectHasStudents,
  selectMethodOptions,
  selectNfeEstimate,
  selectRole,
  selectSeed,
  selectStepOptions,
  selectSteps,
  useStore,
} from '../../store';
import { copyText } from './copy';
import { DownloadNote } from './DownloadNote';
import { LengthField } from './LengthField';
import { NegativePromptField } from './NegativePromptField';

/** Teacher/student switch: two radio buttons (arrow keys move between them). */
function ModelSwitch({ disabled }: { disabled: boolean }) {
  const role = useStore(selectRole);
  const hasStudents = useStore(selectHasStudents);
  const methods = useStore(useShallow(selectMethodOptions));
  const denoiser = useStore(selectDenoiser);
  const { setRole, setMethod } = useStore.getState();
  const name = useId();
  return (
    <fieldset className="field model-switch" disabled={disabled}>
      <legend>Model</legend>
      <div className="segmented">
        <label>
          <input type="radio" name={name} value="teacher" checked={role === 'teacher'} onChange={() => setRole('teacher')} />
          Teacher
        </label>
        <label className={hasStudents ? '' : 'unavailable'}>
          <input
            type="radio"
            name={name}
            value="student"
            checked={role === 'student'}
            disabled={!hasStudents}
            aria-describedby={hasStudents ? undefined : `${name}-none`}
            onChange={() => setRole('student')}
          />
          Student
        </label>
      </div>
      {!hasStudents && (
        <p id={`${name}-none`} className="hint muted">
          This pack has no distilled students yet.
        </p>
      )}
      {role === 'student' && methods.length > 1 && (
        <div className="method">
          <label htmlFor={`${name}-method`}>Method</label>
          <select id={`${name}-method`} value={denoiser?.method ?? ''} onChange={(e) => setMethod(e.target.value)}>
            {methods.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </div>
      )}
      {role === 'student' && denoiser && (
        <p className="hint muted" data-testid="student-id">
          {denoiser.id} ({denoiser.method ?? 'student'}, distilled for {denoiser.steps[0]} steps)
        </p>
      )}
      <DownloadNote />
    </fieldset>
  );
}

/** Steps as a slider over the counts the chosen side supports (fewest left). */
function StepSlider({ disabled }: { disabled: boolean }) {
  const steps = useStore(selectSteps);
  const options = useStore(useShallow(selectStepOptions));
  const { setSteps } = useStore.getState();
  const index = Math.max(0, options.indexOf(steps));
  return (
    <div className="field steps-field">
      <label htmlFor="steps">
        Steps: <output htmlFor="steps" data-testid="steps-value">{steps}</output>
      </label>
      {options.length > 1 ? (
        <>
          <input
            id="steps"
            type="range"
            min={0}
            max={options.length - 1}
            step={1}
            value={index}
            disabled={disabled}
            aria-valuetext={`${steps} steps`}
            onChange={(e) => {
              const n = options[Number(e.target.value)];
              if (n !== undefined) setSteps(n);
            }}
          />
          <div className="ticks" aria-hidden="true">
            {options.map((n) => (
              <span key={n} className={n === steps ? 'current' : ''}>
                {n}
              </span>
            ))}
          </div>
        </>
      ) : (
        <input id="steps" type="range" min={0} max={0} value={0} disabled aria-valuetext={`${steps} steps (the only count this model has)`} />
      )}
    </div>
  );
}

/** NFE before generating: steps x evaluations per step (x variations). */
function NfeEstimate() {
  const est = useStore(useShallow(selectNfeEstimate));
  const steps = useStore(selectSteps);
  if (!est) return null;
  return (
    <p className="nfe" data-testid="nfe-estimate" aria-live="polite">
      Cost: {steps} steps × {est.perStep} {est.perStep === 2 ? 'evaluations (guidance: with and without the prompt)' : 'evaluation (guidance folded)'} ={' '}
      <strong data-testid="nfe-per-sound">{est.perSound}</strong> network evaluations per sound
      {est.variations > 1 && (
        <>
          {' '}
          × {est.variations} variations = <strong data-testid="nfe-total">{est.total}</strong>
        </>
      )}
      .
    </p>
  );
}

function GuidanceField({ disabled }: { disabled: boolean }) {
  const denoiser = useStore(selectDenoiser);
  const scale = useStore((s) => s.guidanceScale);
  const { setGuidanceScale } = useStore.getState();
  if (denoiser?.guidance.type !== 'classifier-free') {
    return (
      <div className="field">
        <span className="label">Guidance</span>
        <p className="hint muted" data-testid="guidance-folded">
          Folded into this student: one evaluation per step.
        </p>
      </div>
    );
  }
  return (
    <div className="field">
      <label htmlFor="guidance">
        Guidance scale: <output htmlFor="guidance" data-testid="guidance-value">{scale}</output>
      </label>
      <input
        id="guidance"
        type="range"
        min={GUIDANCE_RANGE.min}
        max={GUIDANCE_RANGE.max}
        step={GUIDANCE_RANGE.step}
        value={scale}
        disabled={disabled}
        aria-valuetext={`guidance ${scale}`}
        onChange={(e) => setGuidanceScale(e.target.valueAsNumber)}
      />
    </div>
  );
}

function SeedField({ disabled }: { disabled: boolean }) {
  const seed = useStore(selectSeed);
  const fixed = useStore((s) => s.seedFixed);
  const { setSeed, setSeedFixed } = useStore.getState();
  const [copied, setCopied] = useState<string>('');
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? String(seed);
  return (
    <div className="field seed-field">
      <label htmlFor="seed">Seed</label>
      <div className="seed-row">
        <input
          id="seed"
          type="text"
          inputMode="numeric"
          pattern="[0-9]*"
          autoComplete="off"
          value={shown}
          disabled={disabled}
          aria-describedby="seed-help"
          aria-invalid={text !== null && !/^\d+$/.test(text)}
          onChange={(e) => {
            const v = e.target.value.trim();
            setText(e.target.value);
            // typing a seed means "use this one": it is fixed from now on
            if (/^\d+$/.test(v)) {
              setSeed(Number(v));
              setSeedFixed(true);
            }
          }}
          onBlur={() => setText(null)}
        />
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setCopied('');
            copyText(String(seed))
              .then(() => setCopied(`Seed ${seed} copied.`))
              .catch((e: unknown) => setCopied(`Could not copy (${e instanceof Error ? e.message : String(e)}): select the seed and copy it by hand.`));
          }}
        >
          Copy
        </button>
      </div>
      <label className="switch">
        <input type="checkbox" role="switch" checked={fixed} disabled={disabled} onChange={(e) => setSeedFixed(e.target.checked)} />
        Fixed seed
      </label>
      <p id="seed-help" className="hint muted" aria-live="polite">
        {text !== null && !/^\d+$/.test(text.trim())
          ? 'A seed is a whole number of 0 or more; the last valid one is kept.'
          : fixed
            ? 'Every Generate uses this seed.'
            : 'A new random seed for every Generate.'}
      </p>
      <p className="copied" role="status" data-testid="copy-status">
        {copied}
      </p>
    </div>
  );
}

function VariationsField({ disabled }: { disabled: boolean }) {
  const count = useStore((s) => s.variations);
  const { setVariations } = useStore.getState();
  return (
    <div className="field">
      <label htmlFor="variations">Variations</label>
      <select id="variations" value={count} disabled={disabled} onChange={(e) => setVariations(Number(e.target.value))} aria-describedby="variations-help">
        {Array.from({ length: MAX_VARIATIONS }, (_, i) => i + 1).map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      <p id="variations-help" className="hint muted">
        Seeds seed, seed + 1, …
      </p>
    </div>
  );
}

/** Model, steps and their cost, guidance, seed, variations and length: everything a Generate uses besides the prompt. */
export function GenerationControls({ disabled }: { disabled: boolean }) {
  return (
    <div className="controls">
      <div className="options">
        <ModelSwitch disabled={disabled} />
        <StepSlider disabled={disabled} />
      </div>
      <NfeEstimate />
      <div className="options">
        <GuidanceField disabled={disabled} />
        <SeedField disabled={disabled} />
        <VariationsField disabled={disabled} />
        <LengthField disabled={disabled} />
      </div>
      <NegativePromptField disabled={disabled} />
    </div>
  );
}
