// Pack validation on broken copies of the REAL shipped pack (built in a temp dir): each is
// refused with a PackError naming the file concerned.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, symlink, unlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ortNode, requirePack } from '../testing/pack';
import { PackError, type ErrorKind } from './errors';
import { fsFetchFile } from './fs-fetch';
import type { Manifest } from './manifest';
import type { OrtModule } from './ort';
import { Pipeline } from './pipeline';

let source: string;
let tmp: string;
let ort: OrtModule;
let manifest: Manifest;
let count = 0;

beforeAll(async () => {
  source = requirePack();
  tmp = await mkdtemp(join(tmpdir(), 'soundstep-broken-'));
  ort = await ortNode();
  manifest = JSON.parse(await readFile(join(source, 'manifest.json'), 'utf8')) as Manifest;
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A copy of the pack (files linked, manifest.json written) after `edit`; returns its folder. */
async function brokenPack(edit: (m: Manifest, dir: string) => Promise<void> | void): Promise<string> {
  const dir = join(tmp, `pack${count++}`);
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(source, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path);
      else if (path !== 'manifest.json') {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await symlink(join(source, path), join(dir, path));
      }
    }
  };
  await mkdir(dir, { recursive: true });
  await walk('');
  const m = structuredClone(manifest);
  await edit(m, dir);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

/** The PackError loading `dir` throws; its kind is 'pack' unless said ('device': only a session failed). */
async function refusal(dir: string, kind: ErrorKind = 'pack'): Promise<PackError> {
  const error = await Pipeline.load({ ort, backend: 'cpu', fetchFile: fsFetchFile(dir) }).then(
    async (p) => {
      await p.dispose();
      return new Error('the broken pack was accepted');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PackError);
  expect((error as PackError).kind).toBe(kind);
  return error as PackError;
}

describe('broken packs are refused with a PackError naming the file', () => {
  it('a wrong sha256 for vocoder.onnx', async () => {
    const e = await refusal(
      await brokenPack((m) => {
        m.files[m.vocoder.file]!.sha256 = '0'.repeat(64);
      }),
    );
    expect(e.file).toBe(manifest.vocoder.file);
    expect(e.message).toMatch(/SHA-256 mismatch/);
  });

  it('a wrong byte size', async () => {
    const file = manifest.vae_decoder.file;
    const e = await refusal(
      await brokenPack((m) => {
        m.files[file]!.bytes += 1;
      }),
    );
    expect(e.file).toBe(file);
    expect(e.message).toMatch(/size mismatch/);
  });

  it('a missing file', async () => {
    const file = 'vae_decoder.onnx';
    const e = await refusal(await brokenPack((_, dir) => unlink(join(dir, file))));
    expect(e.file).toBe(file);
    expect(e.message).toMatch(/not found/);
  });

  it('a missing denoiser file: refused at load when it loads up front, else on its first use', async () => {
    const teacher = manifest.denoisers[0]!;
    const dir = await brokenPack((_, d) => unlink(join(d, teacher.file)));
    const e = await Pipeline.load({ ort, backend: 'cpu', fetchFile: fsFetchFile(dir), denoiser: teacher.id }).catch((x: unknown) => x);
    expect(e).toMatchObject({ kind: 'pack', file: teacher.file });
    const p = await Pipeline.load({ ort, backend: 'cpu', fetchFile: fsFetchFile(dir) });
    try {
      const gen = p.generate({ prompt: 'a dog barks', denoiserId: teacher.id, steps: 1, guidanceScale: 3, seed: 1 });
      await expect(gen).rejects.toMatchObject({ kind: 'pack', file: teacher.file });
      await expect(gen).rejects.toThrow(/not found.*downloaded on first use/);
    } finally {
      await p.dispose();
    }
  });

  it('an unknown format', async () => {
    const e = await refusal(
      await brokenPack((m) => {
        (m as { format: string }).format = 'soundstep-pack/99';
      }),
    );
    expect(e.file).toBe('manifest.json');
    expect(e.message).toMatch(/unknown format "soundstep-pack\/99"/);
  });

  it('a file referenced but not listed in files', async () => {
    const e = await refusal(
      await brokenPack((m) => {
        delete m.files[m.text.tokenizer];
      }),
    );
    expect(e.file).toBe('manifest.json');
    expect(e.message).toMatch(/text\.tokenizer names "tokenizer\.json", which is not listed in files/);
  });

  it('latent shapes that disagree with audio', async () => {
    const e = await refusal(
      await brokenPack((m) => {
        m.latent.frames *= 2;
      }),
    );
    expect(e.message).toMatch(/latent\.frames \* 4/);
  });

  it('a corrupt ONNX graph whose hash matches the manifest', async () => {
    const file = manifest.vocoder.file;
    const e = await refusal(
      await brokenPack(async (m, dir) => {
        const junk = new TextEncoder().encode('this is not an ONNX model');
        await unlink(join(dir, file));
        await writeFile(join(dir, file), junk);
        m.files[file] = { bytes: junk.length, sha256: createHash('sha256').update(junk).digest('hex') };
      }),
      'device', // the runtime, not a pack check, refuses it: on WebGPU the worker retries on WASM
    );
    expect(e.file).toBe(file);
    expect(e.message).toMatch(/could not create an ONNX session/);
  });

  it('a graph with the wrong interface (the vocoder where the VAE decoder should be)', async () => {
    const e = await refusal(
      await brokenPack((m) => {
        m.vae_decoder.file = m.vocoder.file;
      }),
    );
    expect(e.file).toBe(manifest.vocoder.file);
    expect(e.message).toMatch(/missing input latent/);
  });

  it('a missing pack folder', async () => {
    const e = await refusal(join(tmp, 'no-such-pack'));
    expect(e.file).toBe('manifest.json');
    expect(e.message).toMatch(/does not exist/);
  });
});

describe('shape mismatches name the graph, the input and both shapes', () => {
  // latent.channels 8 while every graph was exported for 4: the manifest checks pass (they
  // relate latent frames and bins to audio), the graphs load, and the first run refuses it
  const eightChannels = (m: Manifest): void => {
    m.latent.channels = 8;
  };

  it('caught before ONNX Runtime runs, from the graph\'s declared input shapes (warm-up and generate)', async () => {
    // the teacher up front, so the warm-up runs it (batch 2) before the default student
    const p = await Pipeline.load({ ort, backend: 'cpu', fetchFile: fsFetchFile(await brokenPack(eightChannels)), denoiser: manifest.denoisers[0]!.id });
    try {
      const teacher = manifest.denoisers[0]!;
      const warm = await p.warmUp().then(() => null, (e: unknown) => e);
      expect(warm).toBeInstanceOf(PackError);
      expect(warm).toMatchObject({ kind: 'pack', file: teacher.file });
      expect((warm as PackError).problem).toBe(
        'input "sample" gets shape [2, 8, 64, 16] from the manifest, but this denoiser graph expects [B, 4, T, 16]. ' +
          'The manifest and the graph disagree, so the pack is broken: load another pack, or rebuild this one with the factory.',
      );
      const student = manifest.denoisers.find((d) => d.role === 'student')!;
      const gen = p.generate({ prompt: 'a dog barks', denoiserId: student.id, steps: student.steps[0], guidanceScale: 1, seed: 1 });
      await expect(gen).rejects.toMatchObject({ kind: 'pack', file: student.file });
      await expect(gen).rejects.toThrow(`${student.file}: input "sample" gets shape [1, 8, 64, 16] from the manifest`);
    } finally {
      await p.dispose();
    }
  });

  it('where the runtime does not report input shapes, ONNX Runtime\'s refusal is named with the graph and the shapes given', async () => {
    // the same session without inputMetadata, as a runtime that does not say shapes
    const blind: OrtModule = {
      Tensor: ort.Tensor,
      InferenceSession: {
        create: async (model, options) => {
          const session = await ort.InferenceSession.create(model, options);
          return new Proxy(session, {
            get: (target, prop) => {
              if (prop === 'inputMetadata') return undefined;
              const value: unknown = Reflect.get(target, prop, target);
              return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
            },
          });
        },
      },
    };
    const p = await Pipeline.load({ ort: blind, backend: 'cpu', fetchFile: fsFetchFile(await brokenPack(eightChannels)), denoiser: manifest.denoisers[0]!.id });
    try {
      const e = await p.warmUp().then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(PackError);
      expect(e).toMatchObject({ kind: 'pack', file: manifest.denoisers[0]!.file });
      expect((e as PackError).problem).toMatch(
        /^the denoiser graph refused the shapes of its inputs \(sample \[2, 8, 64, 16\], timestep \[2\], encoder_hidden_states \[2, 32, 384\], encoder_attention_mask \[2, 32\]\): Got invalid dimensions for input: sample for the following indices index: 1 Got: 8 Expected: 4 Please fix either the inputs\/outputs or the model\. The manifest and the graph disagree: load another pack, or rebuild this one\.$/,
      );
    } finally {
      await p.dispose();
    }
  });
});

describe('edited packs that load', () => {
  it('a student entry samples at its own N with one unguided evaluation per step', async () => {
    // the teacher's graph registered a second time as a "student": with guidance scale 1 the
    // guided teacher computes g_u + 1 (g_c - g_u) = g_c, so both must give the same audio
    const dir = await brokenPack((m) => {
      const teacher = m.denoisers[0]!;
      m.denoisers.push({
        id: 'fake-student', file: teacher.file, role: 'student', method: 'bsa', steps: [5],
        guidance: { type: 'folded' }, distilled_from: teacher.id,
      });
    });
    const p = await Pipeline.load({ ort, backend: 'cpu', fetchFile: fsFetchFile(dir) });
    try {
      const base = { prompt: 'a dog barks', steps: 5, seed: 11, guidanceScale: 1 };
      const student = await p.generate({ ...base, denoiserId: 'fake-student', guidanceScale: 7 });
      const teacher = await p.generate({ ...base, denoiserId: manifest.denoisers[0]!.id });
      expect(student.networkEvaluations).toBe(5);
      expect(teacher.networkEvaluations).toBe(10);
      let err = 0;
      student.waveform.forEach((x, i) => (err = Math.max(err, Math.abs(x - teacher.waveform[i]!))));
      expect(err).toBeLessThan(1e-4);
      await expect(p.generate({ ...base, denoiserId: 'fake-student', steps: 25 })).rejects.toThrow(
        /student "fake-student" was distilled for 5 steps and cannot sample with 25/,
      );
    } finally {
      await p.dispose();
    }
  });
});
