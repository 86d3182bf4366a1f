import { describe, expect, it } from 'vitest';
import { PackError } from './errors';
import { findDenoiser, validateManifest, type Manifest } from './manifest';
import { summarizeManifest } from '../domain/pack-summary';
import { manifestRefusal } from '../testing/manifest-refusal';

const SHA = 'a'.repeat(64);

/** A valid manifest per docs/pack-format.md (synthetic: no pack needed). */
function valid(): Record<string, any> {
  const files = [
    'tokenizer.json', 'tokenizer_config.json', 'text_encoder.onnx', 'denoisers/teacher.onnx',
    'denoisers/bsa25.onnx', 'vae_decoder.onnx', 'vocoder.onnx', 'golden.json',
  ];
  return {
    format: 'soundstep-pack/1',
    id: 'soundstep-small',
    name: 'soundstep small',
    description: 'test',
    license: 'Apache-2.0',
    factory: { revision: 'unknown', recipe: 'small', command: 'python -m soundstep_factory.build' },
    audio: {
      sample_rate: 16000, clip_seconds: 2.56, num_samples: 40960, frames: 256, n_mels: 64, n_fft: 1024,
      hop_length: 160, win_length: 1024, window: 'hann', f_min: 0, f_max: 8000, log_floor: 1e-5,
    },
    text: {
      encoder: 'text_encoder.onnx', tokenizer: 'tokenizer.json', tokenizer_config: 'tokenizer_config.json',
      max_tokens: 32, hidden_size: 384, pad_token_id: 0, unconditional_prompt: '', model: 'MiniLM',
    },
    latent: { channels: 4, frames: 64, bins: 16, scale: 1.23 },
    schedule: {
      num_train_timesteps: 1000, beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012,
      spacing: 'trailing', prediction: 'v',
    },
    denoisers: [
      {
        id: 'teacher', file: 'denoisers/teacher.onnx', role: 'teacher', method: null, steps: [200, 100, 50, 25],
        guidance: { type: 'classifier-free', default_scale: 3 }, distilled_from: null,
      },
      {
        id: 'bsa25', file: 'denoisers/bsa25.onnx', role: 'student', method: 'bsa', steps: [25],
        guidance: { type: 'folded' }, distilled_from: 'teacher',
      },
    ],
    vae_decoder: { file: 'vae_decoder.onnx' },
    vocoder: { file: 'vocoder.onnx' },
    golden: 'golden.json',
    metrics: null,
    files: Object.fromEntries(files.map((f) => [f, { bytes: 10, sha256: SHA }])),
  };
}

function refused(edit: (m: Record<string, any>) => void): PackError {
  const m = valid();
  edit(m);
  return manifestRefusal(m);
}

describe('validateManifest', () => {
  it('accepts a manifest per docs/pack-format.md, keeping unknown fields', () => {
    const m = valid();
    m['factory'].config = { anything: 1 };
    const out: Manifest = validateManifest(m);
    expect(out.denoisers.map((d) => d.id)).toEqual(['teacher', 'bsa25']);
    expect(findDenoiser(out, 'bsa25').role).toBe('student');
    expect(() => findDenoiser(out, 'nope')).toThrow(/unknown denoiser "nope" \(this pack has: teacher, bsa25\)/);
  });

  it('refuses a non-object and an unknown format', () => {
    expect(() => validateManifest(null)).toThrow(PackError);
    expect(() => validateManifest([])).toThrow(/must be an object/);
    expect(refused((m) => (m['format'] = 'soundstep-pack/2')).message).toMatch(
      /^manifest\.json: unknown format "soundstep-pack\/2"/,
    );
    expect(refused((m) => delete m['format']).message).toMatch(/unknown format null/);
  });

  it('names a missing or mistyped field', () => {
    expect(refused((m) => delete m['audio'].sample_rate).message).toMatch(/audio\.sample_rate .*missing/);
    expect(refused((m) => (m['text'].max_tokens = '32')).message).toMatch(/text\.max_tokens must be an integer/);
    expect(refused((m) => delete m['latent']).message).toMatch(/latent must be an object/);
    expect(refused((m) => (m['latent'].scale = -1)).message).toMatch(/latent\.scale must be > 0/);
    expect(refused((m) => delete m['golden']).message).toMatch(/golden is missing/);
    expect(refused((m) => (m['vocoder'] = {})).message).toMatch(/vocoder\.file must be a non-empty string/);
  });

  it('refuses shapes that disagree', () => {
    expect(refused((m) => (m['latent'].frames = 32)).message).toMatch(/latent\.frames \* 4 \(128\) != audio\.frames \(256\)/);
    expect(refused((m) => (m['latent'].bins = 8)).message).toMatch(/latent\.bins \* 4 \(32\) != audio\.n_mels \(64\)/);
    expect(refused((m) => (m['audio'].num_samples = 40000)).message).toMatch(/num_samples/);
    expect(refused((m) => (m['audio'].frames = 250)).message).toMatch(/audio\.frames \* audio\.hop_length/);
  });

  it('refuses a schedule the sampler does not implement', () => {
    expect(refused((m) => (m['schedule'].spacing = 'leading')).message).toMatch(/schedule\.spacing must be "trailing"/);
    expect(refused((m) => (m['schedule'].prediction = 'epsilon')).message).toMatch(/schedule\.prediction must be "v"/);
    expect(refused((m) => (m['schedule'].beta_schedule = 'linear')).message).toMatch(/beta_schedule/);
  });

  it('checks denoisers: roles, steps, guidance, lineage, duplicates', () => {
    expect(refused((m) => (m['denoisers'] = [])).message).toMatch(/denoisers must be a non-empty list/);
    expect(refused((m) => (m['denoisers'][0].steps = [200, 3])).message).toMatch(/3 does not divide 1000/);
    expect(refused((m) => (m['denoisers'][1].steps = [25, 50])).message).toMatch(/exactly the student's own N/);
    expect(refused((m) => (m['denoisers'][1].method = 'magic')).message).toMatch(/\("bsa25"\)\.method must be/);
    expect(refused((m) => (m['denoisers'][1].distilled_from = 'ghost')).message).toMatch(/"ghost", which is not a denoiser/);
    expect(refused((m) => (m['denoisers'][1].id = 'teacher')).message).toMatch(/duplicate id/);
    expect(refused((m) => (m['denoisers'][0].guidance = { type: 'folded' })).message).toMatch(/guidance\.type must be "classifier-free"/);
    expect(refused((m) => (m['denoisers'][1].role = 'assistant')).message).toMatch(/role must be "teacher" or "student"/);
  });

  it('marks the students distilled from an earlier teacher: teacher_sha256 not the teacher file\'s', () => {
    const m = valid();
    m['files']['denoisers/teacher.onnx'].sha256 = 'b'.repeat(64);
    m['denoisers'].push({ ...m['denoisers'][1], id: 'eps25', file: 'denoisers/eps25.onnx', method: 'eps', teacher_sha256: 'b'.repeat(64) });
    m['files']['denoisers/eps25.onnx'] = { bytes: 10, sha256: SHA };
    m['denoisers'][1].teacher_sha256 = 'c'.repeat(64);
    const summary = summarizeManifest(validateManifest(m));
    expect(summary.denoisers.map((d) => [d.id, d.earlierTeacher ?? false])).toEqual([
      ['teacher', false], ['bsa25', true], ['eps25', false],
    ]);
    delete m['denoisers'][1].teacher_sha256; // a pack from before the field: every student is the teacher's own
    expect(summarizeManifest(validateManifest(m)).denoisers.some((d) => d.earlierTeacher)).toBe(false);
    expect(refused((x) => (x['denoisers'][1].teacher_sha256 = 'ABC')).message).toMatch(
      /denoisers\[1\] \("bsa25"\)\.teacher_sha256 must be 64 lowercase hex digits/,
    );
  });

  it('accepts an optional vae_encoder graph, its files listed in files like those of any other graph', () => {
    const withEncoder = (m: Record<string, any>): void => {
      m['vae_encoder'] = { file: 'vae_encoder.onnx' };
      m['files']['vae_encoder.onnx'] = { bytes: 10, sha256: SHA };
    };
    const m = valid();
    withEncoder(m);
    expect(validateManifest(m).vae_encoder).toEqual({ file: 'vae_encoder.onnx' });
    expect(validateManifest(valid()).vae_encoder).toBeUndefined(); // packs exported before it
    expect(refused((x) => (withEncoder(x), delete x['files']['vae_encoder.onnx'])).message).toMatch(
      /vae_encoder\.file names "vae_encoder\.onnx", which is not listed in files/,
    );
    expect(refused((x) => (withEncoder(x), (x['vae_encoder'].external_data = ['vae_encoder.onnx']))).message).toMatch(
      /vae_encoder\.external_data\[0\] is the graph file itself/,
    );
    expect(refused((x) => (x['vae_encoder'] = { file: '' })).message).toMatch(/vae_encoder\.file must be/);
  });

  it('refuses a file named somewhere but not listed in files', () => {
    const e = refused((m) => delete m['files']['vocoder.onnx']);
    expect(e.message).toMatch(/vocoder\.file names "vocoder\.onnx", which is not listed in files/);
    expect(refused((m) => delete m['files']['denoisers/bsa25.onnx']).message).toMatch(/denoisers\[1\]\.file/);
  });

  it('accepts metrics absent, null, or a table of rows per denoiser and steps', () => {
    const m = valid();
    delete m['metrics'];
    expect(validateManifest(m).metrics).toBeUndefined();
    const table = {
      judge: 'judge CNN', runs: 5,
      rows: [
        { denoiser: 'teacher', steps: 200, nfe: 400, fad_judge: { mean: 1.5, ci95: 0.2 }, fd_mel: { mean: 3, ci95: 0.1 },
          adherence: { mean: 0.6, ci95: 0.05 }, seconds: { mean: 12, ci95: null } },
        { denoiser: 'bsa25', steps: 25, nfe: 25, fad_judge: { mean: 2, ci95: null }, fd_mel: { mean: 4, ci95: null },
          adherence: { mean: 0.5, ci95: null } },
      ],
    };
    const out = validateManifest({ ...valid(), metrics: table });
    expect(out.metrics?.rows.map((r) => `${r.denoiser}@${r.steps}`)).toEqual(['teacher@200', 'bsa25@25']);
    expect(out.metrics?.rows[0]?.fad_judge).toEqual({ mean: 1.5, ci95: 0.2 });
    expect(out.metrics?.rows[0]?.log_mel).toBeUndefined(); // absent: not measured
  });

  it('accepts a metrics row with the log-mel figures (before the vocoder) beside the audio ones', () => {
    const logMel = { fad_judge: { mean: 60.2, ci95: 3.1 }, fd_mel: { mean: 0, ci95: null }, adherence: { mean: 1, ci95: 0 } };
    const row = { denoiser: 'bsa25', steps: 25, nfe: 25, fad_judge: { mean: 240, ci95: 9 }, fd_mel: { mean: 30, ci95: 2 },
      adherence: { mean: 0.2, ci95: 0.05 }, log_mel: logMel };
    const out = validateManifest({ ...valid(), metrics: { judge: 'j', runs: 5, rows: [row] } });
    expect(out.metrics?.rows[0]?.log_mel).toEqual(logMel);
    expect(out.metrics?.rows[0]?.fad_judge).toEqual({ mean: 240, ci95: 9 });
  });

  it('refuses bad log-mel figures with the same ranges as the audio ones, naming the path', () => {
    const logMel = () => ({ fad_judge: { mean: 60, ci95: 3 }, fd_mel: { mean: 5, ci95: 1 }, adherence: { mean: 0.5, ci95: 0.1 } });
    const withLogMel = (log_mel: unknown) => (m: Record<string, any>) =>
      (m['metrics'] = { judge: 'j', runs: 3, rows: [{ denoiser: 'teacher', steps: 200, nfe: 400, fad_judge: { mean: 1, ci95: 0.1 },
        fd_mel: { mean: 1, ci95: 0.1 }, adherence: { mean: 0.5, ci95: 0.1 }, log_mel }] });
    expect(refused(withLogMel({ ...logMel(), fad_judge: { mean: -1, ci95: 0 } })).message)
      .toMatch(/metrics\.rows\[0\]\.log_mel\.fad_judge\.mean must be >= 0 \(got -1\)/);
    expect(refused(withLogMel({ ...logMel(), fd_mel: { mean: -0.5, ci95: null } })).message)
      .toMatch(/metrics\.rows\[0\]\.log_mel\.fd_mel\.mean must be >= 0 \(got -0\.5\)/);
    expect(refused(withLogMel({ ...logMel(), adherence: { mean: 1.5, ci95: 0 } })).message)
      .toMatch(/metrics\.rows\[0\]\.log_mel\.adherence\.mean must be in 0\.\.1 \(got 1\.5\)/);
    expect(refused(withLogMel({ ...logMel(), fd_mel: { ci95: 0.1 } })).message)
      .toMatch(/metrics\.rows\[0\]\.log_mel\.fd_mel\.mean must be a number \(missing\)/);
    expect(refused(withLogMel({ ...logMel(), adherence: { mean: 0.5, ci95: -0.1 } })).message)
      .toMatch(/metrics\.rows\[0\]\.log_mel\.adherence\.ci95 must be >= 0/);
    expect(refused(withLogMel({ fad_judge: { mean: 60, ci95: 3 }, fd_mel: { mean: 5, ci95: 1 } })).message)
      .toMatch(/metrics\.rows\[0\]\.log_mel\.adherence must be an object \(missing\)/);
    expect(refused(withLogMel(null)).message).toMatch(/metrics\.rows\[0\]\.log_mel must be an object \(got null\)/);
    expect(refused(withLogMel([1, 2, 3])).message).toMatch(/metrics\.rows\[0\]\.log_mel must be an object/);
  });

  it('accepts a metrics row with the independent ears per prompt set and refuses a share out of range', () => {
    const ears = { clips: 240, speech_when_named: 0.96, speech_when_not: 0.02, quiet: 0.05, pairs_ordered: null, speech_second_half: 0.6 };
    const row = (e: unknown) => ({ denoiser: 'teacher', steps: 200, nfe: 400, fad_judge: { mean: 1, ci95: 0.1 },
      fd_mel: { mean: 1, ci95: 0.1 }, adherence: { mean: 0.5, ci95: 0.1 }, ears: e });
    const out = validateManifest({ ...valid(), metrics: { judge: 'j', runs: 5, rows: [row({ free_form: ears })] } });
    expect(out.metrics?.rows[0]?.ears?.free_form?.speech_when_named).toBe(0.96);
    expect(out.metrics?.rows[0]?.ears?.test).toBeUndefined();
    expect(refused((m) => (m['metrics'] = { judge: 'j', runs: 5, rows: [row({ test: { ...ears, quiet: 1.5 } })] })).message)
      .toMatch(/metrics\.rows\[0\]\.ears\.test\.quiet must be in 0\.\.1 or null/);
  });

  it('accepts a vocabulary of sounds, which the page summary carries, and names a bad entry', () => {
    const vocabulary = [
      { key: 'piano', name: 'piano', category: 'music', examples: ['a piano plays a melody', 'a piano playing a melody'] },
      { key: 'hiss', name: 'white noise', category: 'synthetic', examples: ['white noise hisses'] },
    ];
    const out = validateManifest({ ...valid(), vocabulary });
    expect(summarizeManifest(out).vocabulary.map((v) => v.examples[0])).toEqual(['a piano plays a melody', 'white noise hisses']);
    expect(summarizeManifest(validateManifest(valid())).vocabulary).toEqual([]); // absent: not listed
    expect(refused((m) => (m['vocabulary'] = [{ key: 'piano', name: 'piano', category: 'music', examples: [] }])).message)
      .toMatch(/vocabulary\[0\]\.examples/);
    expect(refused((m) => (m['vocabulary'] = 'piano')).message)
      .toMatch(/vocabulary must be a list of \{ key, name, category, examples \} entries/);
  });

  it('accepts default_denoiser naming a denoiser, which the summary carries, and explains one that names none', () => {
    expect(summarizeManifest(validateManifest({ ...valid(), default_denoiser: 'bsa25' })).defaultDenoiser).toBe('bsa25');
    expect(summarizeManifest(validateManifest(valid())).defaultDenoiser).toBeNull();
    expect(refused((m) => (m['default_denoiser'] = 'snr+1-25')).message).toBe(
      'manifest.json: default_denoiser names "snr+1-25", which is not a denoiser of this pack (it has: teacher, bsa25); ' +
        'name one of them, or leave the field out and the page starts on the best 25-step student',
    );
    expect(refused((m) => (m['default_denoiser'] = '')).message).toMatch(/default_denoiser/);
  });

  it('refuses a metrics table that names a missing denoiser, an unsupported step count, or bad figures', () => {
    const row = () => ({ denoiser: 'bsa25', steps: 25, nfe: 25, fad_judge: { mean: 1, ci95: 0.1 }, fd_mel: { mean: 1, ci95: 0.1 },
      adherence: { mean: 0.5, ci95: 0.1 } });
    const withRows = (...rows: object[]) => (m: Record<string, any>) => (m['metrics'] = { judge: 'j', runs: 3, rows });
    expect(refused(withRows({ ...row(), denoiser: 'ghost' })).message).toMatch(/metrics\.rows\[0\]\.denoiser names "ghost"/);
    expect(refused(withRows({ ...row(), steps: 50 })).message).toMatch(/"bsa25" cannot sample with 50 steps/);
    expect(refused(withRows(row(), row())).message).toMatch(/a second row for "bsa25" at 25 steps/);
    expect(refused(withRows({ ...row(), adherence: { mean: 1.5, ci95: 0 } })).message).toMatch(/adherence\.mean must be in 0\.\.1/);
    expect(refused(withRows({ ...row(), fd_mel: { mean: 1, ci95: -1 } })).message).toMatch(/fd_mel\.ci95 must be >= 0/);
    expect(refused(withRows({ ...row(), fad_judge: undefined })).message).toMatch(/fad_judge must be an object/);
    expect(refused((m) => (m['metrics'] = { judge: 'j', runs: 0, rows: [] })).message).toMatch(/metrics\.runs must be an integer >= 1/);
    expect(refused((m) => (m['metrics'] = 'metrics.json')).message).toMatch(/put the table inline/);
  });

  it('checks files entries and paths', () => {
    expect(refused((m) => (m['files']['vocoder.onnx'].sha256 = 'XYZ')).message).toMatch(/sha256 must be 64 lowercase hex/);
    expect(refused((m) => (m['files']['vocoder.onnx'].bytes = -1)).message).toMatch(/bytes must be an integer >= 0/);
    expect(refused((m) => (m['files']['manifest.json'] = { bytes: 1, sha256: SHA })).message).toMatch(/must not list/);
    expect(refused((m) => (m['vocoder'].file = '../secret.onnx')).message).toMatch(/relative path inside the pack/);
    expect(refused((m) => (m['files']['https://x.org/a.onnx'] = { bytes: 1, sha256: SHA })).message).toMatch(/relative path/);
  });
});
