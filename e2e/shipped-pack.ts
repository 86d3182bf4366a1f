// The pack the page opens when the URL names none (DEFAULT_PACK_URL), read from its manifest, so
// that the specs about the default pack follow a new default pack or default student without
// edits. Specs that only need some real pack to serve under another path may keep naming one.

import { readFileSync } from 'node:fs';
import { DEFAULT_PACK_URL } from '../src/store/initialState';
import { formatBytes } from '../src/components/PackStatus/pack-url';

interface ShippedManifest {
  id: string;
  name: string;
  default_denoiser?: string;
  latent: { channels: number };
  vae_encoder?: { file: string };
  vocoder: { file: string };
  denoisers: {
    id: string; file: string; role: 'teacher' | 'student'; method: string | null; steps: number[]; teacher_sha256?: string;
    variants?: { dtype: string; file: string }[];
  }[];
  files: Record<string, { bytes: number; sha256: string }>;
}

/** 'public/models/<id>/': the folder on disk */
export const SHIPPED_DIR = `public/${DEFAULT_PACK_URL}`;
/** '/models/<id>/': the path the dev server serves it at */
export const SHIPPED_PATH = `/${DEFAULT_PACK_URL}`;

export const shippedManifest = JSON.parse(readFileSync(`${SHIPPED_DIR}manifest.json`, 'utf8')) as ShippedManifest;

const byId = (id: string): ShippedManifest['denoisers'][number] => {
  const d = shippedManifest.denoisers.find((x) => x.id === id);
  if (!d) throw new Error(`the default pack ${SHIPPED_DIR} has no denoiser ${id}`);
  return d;
};

/** The student the page starts on (the manifest's default_denoiser, which the factory writes by the app's rule). */
export const DEFAULT_STUDENT = byId(shippedManifest.default_denoiser ?? '').id;
/** Its graph, the one denoiser a first load downloads. */
export const DEFAULT_STUDENT_FILE = byId(DEFAULT_STUDENT).file;
/** The file a WASM load downloads for it: its int8 variant where it has one (src/runtime/graphs.ts selectPrecision). */
export const DEFAULT_STUDENT_WASM_FILE =
  byId(DEFAULT_STUDENT).variants?.find((v) => v.dtype === 'int8')?.file ?? DEFAULT_STUDENT_FILE;
export const DEFAULT_STUDENT_METHOD = byId(DEFAULT_STUDENT).method;
export const TEACHER_FILE = shippedManifest.denoisers.find((d) => d.role === 'teacher')!.file;

/** A pack file's size as the page writes it ("4.6 MB"). */
export const shippedSize = (files: readonly string[]): string =>
  formatBytes(files.reduce((n, f) => n + (shippedManifest.files[f]?.bytes ?? 0), 0));

/** `s` matched literally inside a RegExp built from a template (pack names and paths hold '.', '+', '('). */
export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The default pack's students distilled from an earlier teacher: teacher_sha256 not its teacher file's SHA-256. */
export function shippedStudentsOfAnEarlierTeacher(): string[] {
  const teacher = shippedManifest.denoisers.find((d) => d.role === 'teacher');
  const current = teacher ? shippedManifest.files[teacher.file]?.sha256 : undefined;
  return shippedManifest.denoisers
    .filter((d) => d.role === 'student' && d.teacher_sha256 !== undefined && d.teacher_sha256 !== current)
    .map((d) => d.id);
}
