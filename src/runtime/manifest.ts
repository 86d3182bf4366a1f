// manifest.json of a model pack: the exact schema of docs/pack-format.md ("soundstep-pack/1"),
// and validateManifest(), which refuses a pack with an error naming the field or file and the problem.

import { PackError } from './errors';

export const PACK_FORMAT = 'soundstep-pack/1';
export const GOLDEN_FORMAT = 'soundstep-golden/1';
export const MANIFEST_FILE = 'manifest.json';
/** The VAE downsamples time and mel axes by 4 each (docs/pack-format.md). */
export const LATENT_DOWNSAMPLE = 4;

export type DistillationMethod = 'bsa' | 'snr-trunc' | 'snr+1' | 'min-snr' | 'eps';
export const DISTILLATION_METHODS: readonly DistillationMethod[] = ['bsa', 'snr-trunc', 'snr+1', 'min-snr', 'eps'];

export interface FactoryInfo {
  /** git sha of the factory, or 'unknown' */
  revision: string;
  /** the config recipe name */
  recipe: string;
  command: string;
}

export interface AudioSpec {
  sample_rate: number;
  clip_seconds: number;
  num_samples: number;
  /** mel frames: num_samples / hop_length */
  frames: number;
  n_mels: number;
  n_fft: number;
  hop_length: number;
  win_length: number;
  window: string;
  f_min: number;
  f_max: number;
  log_floor: number;
}

export interface TextSpec {
  encoder: string;
  tokenizer: string;
  tokenizer_config: string;
  max_tokens: number;
  hidden_size: number;
  pad_token_id: number;
  unconditional_prompt: string;
  /** what the encoder is, in words */
  model: string;
  /** GraphStorage.external_data of the text encoder (optional) */
  encoder_external_data?: string[];
  /** GraphStorage.variants of the text encoder (optional) */
  encoder_variants?: GraphVariant[];
}

export interface LatentSpec {
  channels: number;
  frames: number;
  bins: number;
  /** diffusion runs on latent * scale; the decoder receives z / scale */
  scale: number;
}

export interface ScheduleSpec {
  num_train_timesteps: number;
  beta_schedule: 'scaled_linear';
  beta_start: number;
  beta_end: number;
  spacing: 'trailing';
  prediction: 'v';
}

export interface ClassifierFreeGuidance {
  type: 'classifier-free';
  default_scale: number;
}
export interface FoldedGuidance {
  type: 'folded';
}
export type GuidanceSpec = ClassifierFreeGuidance | FoldedGuidance;

/** Weight precisions a graph variant may have; the graph's own `file` is always float32. */
export type VariantDtype = 'float16';
export const VARIANT_DTYPES: readonly VariantDtype[] = ['float16'];

/**
 * The same graph with weights in another precision: float16 compute inside, float32 inputs
 * and outputs, so the pipeline feeds it exactly like the float32 graph. Used on WebGPU when
 * the adapter has shader-f16 (src/runtime/graphs.ts).
 */
export interface GraphVariant {
  dtype: VariantDtype;
  file: string;
  external_data?: string[];
}

/**
 * Optional storage details of one ONNX graph (docs/pack-format.md "External data and
 * variants"). Older packs have neither field; the app then loads `file` alone.
 */
export interface GraphStorage {
  /**
   * ONNX external-data files holding this graph's weights (a graph over protobuf's 2 GB
   * limit must keep them outside), pack-relative, in the graph's folder or below it: the
   * graph refers to them by their path relative to its own folder.
   */
  external_data?: string[];
  /** at most one per dtype */
  variants?: GraphVariant[];
}

/** A graph entry of the manifest (vae_decoder, vocoder). */
export interface GraphFile extends GraphStorage {
  file: string;
}

export interface TeacherDenoiser extends GraphStorage {
  id: string;
  file: string;
  role: 'teacher';
  method: null;
  /** step counts it is shown with; any N dividing num_train_timesteps works */
  steps: number[];
  guidance: ClassifierFreeGuidance;
  distilled_from: null;
}

export interface StudentDenoiser extends GraphStorage {
  id: string;
  file: string;
  role: 'student';
  method: DistillationMethod;
  /** exactly one entry: the N it was distilled for */
  steps: number[];
  guidance: FoldedGuidance;
  distilled_from: string;
}

export type DenoiserSpec = TeacherDenoiser | StudentDenoiser;

export interface FileEntry {
  bytes: number;
  /** lowercase hex SHA-256 */
  sha256: string;
}

export interface Manifest {
  format: typeof PACK_FORMAT;
  id: string;
  name: string;
  description: string;
  license: string;
  factory: FactoryInfo;
  audio: AudioSpec;
  text: TextSpec;
  latent: LatentSpec;
  schedule: ScheduleSpec;
  denoisers: DenoiserSpec[];
  vae_decoder: GraphFile;
  vocoder: GraphFile;
  golden: string | null;
  /** the factory's evaluation table (docs/pack-format.md "metrics"); absent or null: not measured */
  metrics?: MetricsTable | null;
  /** every file of the pack except manifest.json, by pack-relative path */
  files: Record<string, FileEntry>;
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function fail(problem: string): never {
  throw new PackError(MANIFEST_FILE, problem);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return `got ${text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${path} must be an object (${describe(value)})`);
  }
  return value as Json;
}

function string(obj: Json, key: string, path: string, allowEmpty = false): string {
  const value = obj[key];
  if (typeof value !== 'string' || (!allowEmpty && value === '')) {
    fail(`${path}.${key} must be a${allowEmpty ? '' : ' non-empty'} string (${describe(value)})`);
  }
  return value;
}

function nullableString(obj: Json, key: string, path: string): string | null {
  if (!(key in obj)) fail(`${path}.${key} is missing (use null for none)`);
  return obj[key] === null ? null : string(obj, key, path);
}

function number(obj: Json, key: string, path: string, rule: 'finite' | 'positive' | 'nonnegative' = 'finite'): number {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${path}.${key} must be a number (${describe(value)})`);
  if (rule === 'positive' && !(value > 0)) fail(`${path}.${key} must be > 0 (got ${value})`);
  if (rule === 'nonnegative' && !(value >= 0)) fail(`${path}.${key} must be >= 0 (got ${value})`);
  return value;
}

function integer(obj: Json, key: string, path: string, min = 1): number {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(`${path}.${key} must be an integer >= ${min} (${describe(value)})`);
  }
  return value;
}

function literal<T extends string>(obj: Json, key: string, path: string, allowed: readonly T[]): T {
  const value = obj[key];
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(`${path}.${key} must be ${allowed.map((a) => JSON.stringify(a)).join(' or ')} (${describe(value)})`);
  }
  return value as T;
}

function checkPath(file: string, path: string): void {
  const bad =
    file.startsWith('/') ||
    file.includes('\\') ||
    file.split('/').some((part) => part === '' || part === '.' || part === '..') ||
    /^[a-z][a-z0-9+.-]*:/i.test(file);
  if (bad) fail(`${path} must be a relative path inside the pack (got ${JSON.stringify(file)})`);
}

/** The folder part of a pack-relative path, with its trailing '/' ('' at the pack root). */
export function folderOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
}

function validateExternalData(value: unknown, graphFile: string, path: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.length === 0) {
    fail(`${path} must be a non-empty list of pack files, or be left out (${describe(value)})`);
  }
  const seen = new Set<string>();
  for (const [i, file] of value.entries()) {
    if (typeof file !== 'string' || file === '') fail(`${path}[${i}] must be a non-empty string (${describe(file)})`);
    checkPath(file, `${path}[${i}]`);
    if (file === graphFile) fail(`${path}[${i}] is the graph file itself ("${file}")`);
    if (seen.has(file)) fail(`${path}[${i}]: "${file}" is listed twice`);
    seen.add(file);
    const folder = folderOf(graphFile);
    if (!file.startsWith(folder)) {
      fail(
        `${path}[${i}] ("${file}") must lie in the graph's folder "${folder || '(pack root)'}" or below it: ` +
          'ONNX names external data relative to the graph file',
      );
    }
  }
}

function validateVariants(value: unknown, graphFile: string, path: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) fail(`${path} must be a list of { dtype, file, external_data? } (${describe(value)})`);
  const dtypes = new Set<string>();
  for (const [i, entry] of value.entries()) {
    const v = object(entry, `${path}[${i}]`);
    const dtype = literal(v, 'dtype', `${path}[${i}]`, VARIANT_DTYPES);
    if (dtypes.has(dtype)) fail(`${path}[${i}]: a second ${dtype} variant (at most one per dtype)`);
    dtypes.add(dtype);
    const file = string(v, 'file', `${path}[${i}]`);
    checkPath(file, `${path}[${i}].file`);
    if (file === graphFile) fail(`${path}[${i}].file is the float32 graph itself ("${file}")`);
    validateExternalData(v['external_data'], file, `${path}[${i}].external_data`);
  }
}

/** external_data and variants of one graph entry; `prefix` is '' or 'encoder_' (text). */
function validateStorage(obj: Json, graphFile: string, path: string, prefix = ''): void {
  validateExternalData(obj[`${prefix}external_data`], graphFile, `${path}.${prefix}external_data`);
  validateVariants(obj[`${prefix}variants`], graphFile, `${path}.${prefix}variants`);
}

function validateAudio(value: unknown): void {
  const a = object(value, 'audio');
  const sampleRate = integer(a, 'sample_rate', 'audio');
  const clipSeconds = number(a, 'clip_seconds', 'audio', 'positive');
  const numSamples = integer(a, 'num_samples', 'audio');
  const frames = integer(a, 'frames', 'audio');
  integer(a, 'n_mels', 'audio');
  integer(a, 'n_fft', 'audio');
  const hop = integer(a, 'hop_length', 'audio');
  integer(a, 'win_length', 'audio');
  string(a, 'window', 'audio');
  const fMin = number(a, 'f_min', 'audio', 'nonnegative');
  const fMax = number(a, 'f_max', 'audio', 'positive');
  number(a, 'log_floor', 'audio', 'positive');
  if (Math.round(clipSeconds * sampleRate) !== numSamples) {
    fail(`audio.num_samples (${numSamples}) disagrees with clip_seconds * sample_rate (${clipSeconds} * ${sampleRate})`);
  }
  if (frames * hop !== numSamples) {
    fail(`audio.frames * audio.hop_length (${frames} * ${hop}) != audio.num_samples (${numSamples})`);
  }
  if (!(fMin < fMax) || fMax > sampleRate / 2) {
    fail(`audio.f_min..f_max (${fMin}..${fMax}) must be increasing and at most sample_rate / 2`);
  }
}

function validateText(value: unknown): void {
  const t = object(value, 'text');
  for (const key of ['encoder', 'tokenizer', 'tokenizer_config']) checkPath(string(t, key, 'text'), `text.${key}`);
  validateStorage(t, t['encoder'] as string, 'text', 'encoder_');
  integer(t, 'max_tokens', 'text', 2);
  integer(t, 'hidden_size', 'text');
  integer(t, 'pad_token_id', 'text', 0);
  string(t, 'unconditional_prompt', 'text', true);
  string(t, 'model', 'text');
}

function validateLatent(value: unknown, audio: Json): void {
  const l = object(value, 'latent');
  integer(l, 'channels', 'latent');
  const frames = integer(l, 'frames', 'latent');
  const bins = integer(l, 'bins', 'latent');
  number(l, 'scale', 'latent', 'positive');
  const audioFrames = audio['frames'] as number;
  const mels = audio['n_mels'] as number;
  if (frames * LATENT_DOWNSAMPLE !== audioFrames) {
    fail(`latent.frames * ${LATENT_DOWNSAMPLE} (${frames * LATENT_DOWNSAMPLE}) != audio.frames (${audioFrames})`);
  }
  if (bins * LATENT_DOWNSAMPLE !== mels) {
    fail(`latent.bins * ${LATENT_DOWNSAMPLE} (${bins * LATENT_DOWNSAMPLE}) != audio.n_mels (${mels})`);
  }
}

function validateSchedule(value: unknown): void {
  const s = object(value, 'schedule');
  integer(s, 'num_train_timesteps', 'schedule', 2);
  literal(s, 'beta_schedule', 'schedule', ['scaled_linear']);
  const b0 = number(s, 'beta_start', 'schedule', 'positive');
  const b1 = number(s, 'beta_end', 'schedule', 'positive');
  if (!(b0 < b1 && b1 < 1)) fail(`schedule.beta_start..beta_end (${b0}..${b1}) must satisfy 0 < start < end < 1`);
  literal(s, 'spacing', 'schedule', ['trailing']);
  literal(s, 'prediction', 'schedule', ['v']);
}

function validateDenoisers(value: unknown, numTrainTimesteps: number): void {
  if (!Array.isArray(value) || value.length === 0) fail(`denoisers must be a non-empty list (${describe(value)})`);
  const ids = new Set<string>();
  for (const [i, entry] of value.entries()) {
    const d = object(entry, `denoisers[${i}]`);
    const id = string(d, 'id', `denoisers[${i}]`);
    const path = `denoisers[${i}] ("${id}")`;
    if (ids.has(id)) fail(`${path}: duplicate id`);
    ids.add(id);
    checkPath(string(d, 'file', path), `${path}.file`);
    validateStorage(d, d['file'] as string, path);
    const role = literal(d, 'role', path, ['teacher', 'student'] as const);
    const steps = d['steps'];
    if (!Array.isArray(steps) || steps.length === 0 || !steps.every((n) => Number.isInteger(n) && n >= 1)) {
      fail(`${path}.steps must be a non-empty list of positive integers (${describe(steps)})`);
    }
    const guidance = object(d['guidance'], `${path}.guidance`);
    if (role === 'teacher') {
      if (d['method'] !== null) fail(`${path}.method must be null for a teacher (${describe(d['method'])})`);
      if (d['distilled_from'] !== null) fail(`${path}.distilled_from must be null for a teacher (${describe(d['distilled_from'])})`);
      for (const n of steps as number[]) {
        if (numTrainTimesteps % n !== 0) fail(`${path}.steps: ${n} does not divide ${numTrainTimesteps}`);
      }
      literal(guidance, 'type', `${path}.guidance`, ['classifier-free']);
      number(guidance, 'default_scale', `${path}.guidance`, 'nonnegative');
    } else {
      literal(d, 'method', path, DISTILLATION_METHODS);
      string(d, 'distilled_from', path);
      if (steps.length !== 1) fail(`${path}.steps must hold exactly the student's own N (${describe(steps)})`);
      if (numTrainTimesteps % (steps[0] as number) !== 0) {
        fail(`${path}.steps: ${steps[0]} does not divide ${numTrainTimesteps}`);
      }
      literal(guidance, 'type', `${path}.guidance`, ['folded']);
    }
  }
  for (const [i, entry] of value.entries()) {
    const from = (entry as Json)['distilled_from'];
    if (typeof from === 'string' && !ids.has(from)) {
      fail(`denoisers[${i}].distilled_from names "${from}", which is not a denoiser of this pack`);
    }
  }
}

function validateFiles(value: unknown): void {
  const files = object(value, 'files');
  for (const [file, entry] of Object.entries(files)) {
    checkPath(file, `files["${file}"]`);
    if (file === MANIFEST_FILE) fail(`files must not list ${MANIFEST_FILE} itself`);
    const e = object(entry, `files["${file}"]`);
    integer(e, 'bytes', `files["${file}"]`, 0);
    const sha = e['sha256'];
    if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha)) {
      fail(`files["${file}"].sha256 must be 64 lowercase hex digits (${describe(sha)})`);
    }
  }
}

/** The files a graph's external_data and variants name, with where they are named. */
function storageFiles(
  external: string[] | undefined,
  variants: GraphVariant[] | undefined,
  field: string,
): Array<{ file: string; field: string }> {
  const refs = (external ?? []).map((file, i) => ({ file, field: `${field}external_data[${i}]` }));
  for (const [i, v] of (variants ?? []).entries()) {
    const at = `${field}variants[${i}]`;
    refs.push({ file: v.file, field: `${at}.file` });
    refs.push(...(v.external_data ?? []).map((file, j) => ({ file, field: `${at}.external_data[${j}]` })));
  }
  return refs;
}

/** Every pack file the manifest names outside `files`, with where it is named. */
export function referencedFiles(m: Manifest): Array<{ file: string; field: string }> {
  const refs = [
    { file: m.text.encoder, field: 'text.encoder' },
    { file: m.text.tokenizer, field: 'text.tokenizer' },
    { file: m.text.tokenizer_config, field: 'text.tokenizer_config' },
    ...m.denoisers.map((d, i) => ({ file: d.file, field: `denoisers[${i}].file` })),
    { file: m.vae_decoder.file, field: 'vae_decoder.file' },
    { file: m.vocoder.file, field: 'vocoder.file' },
    ...storageFiles(m.text.encoder_external_data, m.text.encoder_variants, 'text.encoder_'),
    ...m.denoisers.flatMap((d, i) => storageFiles(d.external_data, d.variants, `denoisers[${i}].`)),
    ...storageFiles(m.vae_decoder.external_data, m.vae_decoder.variants, 'vae_decoder.'),
    ...storageFiles(m.vocoder.external_data, m.vocoder.variants, 'vocoder.'),
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
  const m = object(json, 'the manifest');
  const format = m['format'];
  if (format !== PACK_FORMAT) {
    fail(`unknown format ${JSON.stringify(format ?? null)} (this app reads "${PACK_FORMAT}")`);
  }
  for (const key of ['id', 'name', 'description', 'license']) string(m, key, 'manifest', key !== 'id' && key !== 'name');
  const factory = object(m['factory'], 'factory');
  for (const key of ['revision', 'recipe', 'command']) string(factory, key, 'factory', true);
  validateAudio(m['audio']);
  validateText(m['text']);
  validateLatent(m['latent'], m['audio'] as Json);
  validateSchedule(m['schedule']);
  validateDenoisers(m['denoisers'], (m['schedule'] as Json)['num_train_timesteps'] as number);
  for (const key of ['vae_decoder', 'vocoder']) {
    const g = object(m[key], key);
    checkPath(string(g, 'file', key), `${key}.file`);
    validateStorage(g, g['file'] as string, key);
  }
  const golden = nullableString(m, 'golden', 'manifest');
  if (golden !== null) checkPath(golden, 'golden');
  validateMetrics(m['metrics'], m['denoisers'] as DenoiserSpec[], (m['schedule'] as Json)['num_train_timesteps'] as number);
  validateFiles(m['files']);

  const manifest = m as unknown as Manifest;
  for (const { file, field } of referencedFiles(manifest)) {
    if (!Object.hasOwn(manifest.files, file)) fail(`${field} names "${file}", which is not listed in files`);
  }
  return manifest;
}

/** The denoiser entry with this id, or an Error listing the ids the pack has. */
export function findDenoiser(m: Manifest, id: string): DenoiserSpec {
  const d = m.denoisers.find((entry) => entry.id === id);
  if (!d) {
    throw new Error(`unknown denoiser "${id}" (this pack has: ${m.denoisers.map((e) => e.id).join(', ')})`);
  }
  return d;
}

// ---------------------------------------------------------------------------------------
// metrics: the factory's evaluation table (docs/pack-format.md), shown beside the
// comparison grid. Optional: absent or null means "not measured" and the page shows "—".
// ---------------------------------------------------------------------------------------

/** A figure over `runs` runs: the mean and the half-width of its Student-t 95% interval (null with one run). */
export interface MetricValue {
  mean: number;
  ci95: number | null;
}

/** The three quality figures of a cell, all measured on one kind of output. */
export interface MetricFigures {
  /** Frechet distance of judge embeddings, generated vs real test clips (lower is better) */
  fad_judge: MetricValue;
  /** Frechet distance of log-mel statistics (lower is better) */
  fd_mel: MetricValue;
  /** fraction (0..1) of clips in which the judge finds every prompted source (higher is better) */
  adherence: MetricValue;
}

/** One cell of the grid: a denoiser at a step count. Its own figures are measured on the final audio. */
export interface MetricsRow extends MetricFigures {
  /** a denoisers[].id of this pack */
  denoiser: string;
  steps: number;
  /** network evaluations per generation (teacher with guidance: 2 * steps; student: steps) */
  nfe: number;
  /**
   * The same figures measured on the VAE decoder's log-mel, before the vocoder. The audio
   * figures include the vocoder's error, which can be large enough to hide the difference
   * between denoisers; these do not. Absent: not measured.
   */
  log_mel?: MetricFigures;
  /** seconds per generation on the factory's machine, if measured */
  seconds?: MetricValue;
}

export interface MetricsTable {
  /** which judge scored the clips, in words (e.g. "judge CNN over log-mel, 5 seeds") */
  judge: string;
  /** runs (sampling seeds) each mean is over, >= 1 */
  runs: number;
  rows: MetricsRow[];
}

function metricValue(obj: Json, key: string, path: string, range?: [number, number]): void {
  const v = object(obj[key], `${path}.${key}`);
  const mean = number(v, 'mean', `${path}.${key}`);
  if (range && (mean < range[0] || mean > range[1])) {
    const allowed = range[1] === Infinity ? `>= ${range[0]}` : `in ${range[0]}..${range[1]}`;
    fail(`${path}.${key}.mean must be ${allowed} (got ${mean})`);
  }
  if (v['ci95'] !== null) number(v, 'ci95', `${path}.${key}`, 'nonnegative');
}

/** fad_judge, fd_mel and adherence of a row or of its log_mel (see MetricFigures). */
function metricFigures(obj: Json, path: string): void {
  metricValue(obj, 'fad_judge', path, [0, Infinity]);
  metricValue(obj, 'fd_mel', path, [0, Infinity]);
  metricValue(obj, 'adherence', path, [0, 1]);
}

/** Checks the optional metrics table against the pack's denoisers (see MetricsTable). */
function validateMetrics(value: unknown, denoisers: DenoiserSpec[], numTrainTimesteps: number): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'string') {
    fail('metrics must be an object { judge, runs, rows } or null; a file name is no longer read (put the table inline)');
  }
  const t = object(value, 'metrics');
  string(t, 'judge', 'metrics');
  integer(t, 'runs', 'metrics');
  const rows = t['rows'];
  if (!Array.isArray(rows)) fail(`metrics.rows must be a list (${describe(rows)})`);
  const seen = new Set<string>();
  for (const [i, entry] of rows.entries()) {
    const path = `metrics.rows[${i}]`;
    const r = object(entry, path);
    const id = string(r, 'denoiser', path);
    const steps = integer(r, 'steps', path);
    const d = denoisers.find((x) => x.id === id);
    if (!d) fail(`${path}.denoiser names "${id}", which is not a denoiser of this pack`);
    const supported = d.role === 'teacher' ? numTrainTimesteps % steps === 0 : d.steps[0] === steps;
    if (!supported) fail(`${path}: denoiser "${id}" cannot sample with ${steps} steps`);
    const cell = `${id}@${steps}`;
    if (seen.has(cell)) fail(`${path}: a second row for "${id}" at ${steps} steps`);
    seen.add(cell);
    integer(r, 'nfe', path);
    metricFigures(r, path);
    if (r['log_mel'] !== undefined) metricFigures(object(r['log_mel'], `${path}.log_mel`), `${path}.log_mel`);
    if (r['seconds'] !== undefined) metricValue(r, 'seconds', path, [0, Infinity]);
  }
}
