// manifest.json of a model pack: validateManifest() refuses a pack that is not soundstep-pack/1
// with an error naming the field or file and the problem. Two passes: the JSON Schema
// (docs/soundstep-pack-1.schema.json, via ./pack-schema), then what a schema cannot say: shapes
// that must agree, step counts the schedule has, lineage, storage files beside their graph, and
// every file named somewhere listed in `files`. The types live in ./pack-types.

import { acceptsSteps, stepsRefusal } from '../engine/steps';
import { InputError, PackError } from './errors';
import { describe, schemaProblem } from './pack-schema';
import {
  LATENT_DOWNSAMPLE,
  MANIFEST_FILE,
  PACK_FORMAT,
  type DenoiserSpec,
  type GraphStorage,
  type GraphVariant,
  type Manifest,
} from './pack-types';

export * from './pack-types';

function fail(problem: string): never {
  throw new PackError(MANIFEST_FILE, problem);
}

/** The folder part of a pack-relative path, with its trailing '/' ('' at the pack root). */
export function folderOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
}

/** External data lies in its graph's folder or below it, and is not the graph itself. */
function checkExternalData(files: readonly string[] | undefined, graphFile: string, path: string): void {
  const folder = folderOf(graphFile);
  for (const [i, file] of (files ?? []).entries()) {
    if (file === graphFile) fail(`${path}[${i}] is the graph file itself ("${file}")`);
    if (!file.startsWith(folder)) {
      fail(
        `${path}[${i}] ("${file}") must lie in the graph's folder "${folder || '(pack root)'}" or below it: ` +
          'ONNX names external data relative to the graph file',
      );
    }
  }
}

/** At most one variant per dtype, none that is the float32 graph itself. */
function checkVariants(variants: readonly GraphVariant[] | undefined, graphFile: string, path: string): void {
  const dtypes = new Set<string>();
  for (const [i, v] of (variants ?? []).entries()) {
    if (dtypes.has(v.dtype)) fail(`${path}[${i}]: a second ${v.dtype} variant (at most one per dtype)`);
    dtypes.add(v.dtype);
    if (v.file === graphFile) fail(`${path}[${i}].file is the float32 graph itself ("${v.file}")`);
    checkExternalData(v.external_data, v.file, `${path}[${i}].external_data`);
  }
}

/** Every graph of the pack with its storage fields and where they are named ('text.encoder_' ...). */
function graphStorage(m: Manifest): Array<{ file: string; storage: GraphStorage; field: string }> {
  const text = { external_data: m.text.encoder_external_data, variants: m.text.encoder_variants };
  return [
    { file: m.text.encoder, storage: text, field: 'text.encoder_' },
    ...m.denoisers.map((d, i) => ({ file: d.file, storage: d, field: `denoisers[${i}] ("${d.id}").` })),
    ...(m.vae_encoder ? [{ file: m.vae_encoder.file, storage: m.vae_encoder, field: 'vae_encoder.' }] : []),
    { file: m.vae_decoder.file, storage: m.vae_decoder, field: 'vae_decoder.' },
    { file: m.vocoder.file, storage: m.vocoder, field: 'vocoder.' },
  ];
}

function checkAudio({ audio: a }: Manifest): void {
  if (Math.round(a.clip_seconds * a.sample_rate) !== a.num_samples) {
    fail(`audio.num_samples (${a.num_samples}) disagrees with clip_seconds * sample_rate (${a.clip_seconds} * ${a.sample_rate})`);
  }
  if (a.frames * a.hop_length !== a.num_samples) {
    fail(`audio.frames * audio.hop_length (${a.frames} * ${a.hop_length}) != audio.num_samples (${a.num_samples})`);
  }
  if (!(a.f_min < a.f_max) || a.f_max > a.sample_rate / 2) {
    fail(`audio.f_min..f_max (${a.f_min}..${a.f_max}) must be increasing and at most sample_rate / 2`);
  }
}

function checkLatent({ latent: l, audio }: Manifest): void {
  if (l.frames * LATENT_DOWNSAMPLE !== audio.frames) {
    fail(`latent.frames * ${LATENT_DOWNSAMPLE} (${l.frames * LATENT_DOWNSAMPLE}) != audio.frames (${audio.frames})`);
  }
  if (l.bins * LATENT_DOWNSAMPLE !== audio.n_mels) {
    fail(`latent.bins * ${LATENT_DOWNSAMPLE} (${l.bins * LATENT_DOWNSAMPLE}) != audio.n_mels (${audio.n_mels})`);
  }
}

function checkSchedule({ schedule: s }: Manifest): void {
  if (!(s.beta_start < s.beta_end)) {
    fail(`schedule.beta_start..beta_end (${s.beta_start}..${s.beta_end}) must satisfy 0 < start < end < 1`);
  }
}

/** Unique ids, listed step counts each accepted (src/engine/steps.ts), lineage inside the pack. */
function checkDenoisers({ denoisers, schedule }: Manifest): void {
  const ids = new Set<string>();
  for (const [i, d] of denoisers.entries()) {
    const path = `denoisers[${i}] ("${d.id}")`;
    if (ids.has(d.id)) fail(`${path}: duplicate id`);
    ids.add(d.id);
    for (const n of d.steps) {
      const refusal = stepsRefusal(d, n, schedule.num_train_timesteps);
      if (refusal !== null) fail(`${path}.steps: ${refusal}`);
    }
  }
  for (const [i, d] of denoisers.entries()) {
    if (d.distilled_from !== null && !ids.has(d.distilled_from)) {
      fail(`denoisers[${i}].distilled_from names "${d.distilled_from}", which is not a denoiser of this pack`);
    }
  }
}

/** default_denoiser, when given, names a denoiser of the pack. */
function checkDefaultDenoiser({ default_denoiser: id, denoisers }: Manifest): void {
  if (id === undefined || denoisers.some((d) => d.id === id)) return;
  fail(
    `default_denoiser names "${id}", which is not a denoiser of this pack (it has: ${denoisers.map((d) => d.id).join(', ')}); ` +
      'name one of them, or leave the field out and the page starts on the best 25-step student',
  );
}

/** Each row names a denoiser of the pack at a step count it accepts, one row per cell. */
function checkMetrics({ metrics, denoisers, schedule }: Manifest): void {
  const seen = new Set<string>();
  for (const [i, r] of (metrics?.rows ?? []).entries()) {
    const path = `metrics.rows[${i}]`;
    const d = denoisers.find((x) => x.id === r.denoiser);
    if (!d) fail(`${path}.denoiser names "${r.denoiser}", which is not a denoiser of this pack`);
    if (!acceptsSteps(d, r.steps, schedule.num_train_timesteps)) {
      fail(`${path}: denoiser "${r.denoiser}" cannot sample with ${r.steps} steps`);
    }
    const cell = `${r.denoiser}@${r.steps}`;
    if (seen.has(cell)) fail(`${path}: a second row for "${r.denoiser}" at ${r.steps} steps`);
    seen.add(cell);
  }
}

/** The files a graph's external_data and variants name, with where they are named. */
function storageFiles(storage: GraphStorage, field: string): Array<{ file: string; field: string }> {
  const refs = (storage.external_data ?? []).map((file, i) => ({ file, field: `${field}external_data[${i}]` }));
  for (const [i, v] of (storage.variants ?? []).entries()) {
    const at = `${field}variants[${i}]`;
    refs.push({ file: v.file, field: `${at}.file` });
    refs.push(...(v.external_data ?? []).map((file, j) => ({ file, field: `${at}.external_data[${j}]` })));
  }
  return refs;
}

/** Every pack file the manifest names outside `files`, with where it is named. */
export function referencedFiles(m: Manifest): Array<{ file: string; field: string }> {
  const text = { external_data: m.text.encoder_external_data, variants: m.text.encoder_variants };
  const refs = [
    { file: m.text.encoder, field: 'text.encoder' },
    { file: m.text.tokenizer, field: 'text.tokenizer' },
    { file: m.text.tokenizer_config, field: 'text.tokenizer_config' },
    ...m.denoisers.map((d, i) => ({ file: d.file, field: `denoisers[${i}].file` })),
    ...(m.vae_encoder ? [{ file: m.vae_encoder.file, field: 'vae_encoder.file' }] : []),
    { file: m.vae_decoder.file, field: 'vae_decoder.file' },
    { file: m.vocoder.file, field: 'vocoder.file' },
    ...storageFiles(text, 'text.encoder_'),
    ...m.denoisers.flatMap((d, i) => storageFiles(d, `denoisers[${i}].`)),
    ...(m.vae_encoder ? storageFiles(m.vae_encoder, 'vae_encoder.') : []),
    ...storageFiles(m.vae_decoder, 'vae_decoder.'),
    ...storageFiles(m.vocoder, 'vocoder.'),
  ];
  if (m.golden !== null) refs.push({ file: m.golden, field: 'golden' });
  return refs;
}

/**
 * Checks that `json` is a soundstep-pack/1 manifest and returns it typed. Throws PackError
 * (file 'manifest.json') naming the field and the problem: unknown format, missing or
 * mistyped field, shapes that disagree, a file named somewhere but absent from `files`.
 * Fields the schema does not know are kept and ignored.
 */
export function validateManifest(json: unknown): Manifest {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail(`the manifest must be an object (${describe(json)})`);
  }
  const format = (json as Record<string, unknown>)['format'];
  if (format !== PACK_FORMAT) {
    fail(`unknown format ${JSON.stringify(format ?? null)} (this app reads "${PACK_FORMAT}")`);
  }
  const problem = schemaProblem(json);
  if (problem !== null) fail(problem);

  const m = json as Manifest;
  checkAudio(m);
  checkLatent(m);
  checkSchedule(m);
  checkDenoisers(m);
  for (const { file, storage, field } of graphStorage(m)) {
    checkExternalData(storage.external_data, file, `${field}external_data`);
    checkVariants(storage.variants, file, `${field}variants`);
  }
  checkDefaultDenoiser(m);
  checkMetrics(m);
  for (const { file, field } of referencedFiles(m)) {
    if (!Object.hasOwn(m.files, file)) fail(`${field} names "${file}", which is not listed in files`);
  }
  return m;
}

/** The denoiser entry with this id, or an InputError listing the ids the pack has. */
export function findDenoiser(m: Manifest, id: string): DenoiserSpec {
  const d = m.denoisers.find((entry) => entry.id === id);
  if (!d) {
    throw new InputError(`unknown denoiser "${id}" (this pack has: ${m.denoisers.map((e) => e.id).join(', ')})`);
  }
  return d;
}
