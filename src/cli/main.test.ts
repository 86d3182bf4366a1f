// The CLI's argument handling and one real generation (onnxruntime-node on the shipped pack).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseWav } from '../engine/wav';
import { REPO_DIR, requirePack } from '../testing/pack';
import { main } from './main';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'soundstep-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

/** expect.stringMatching, typed: vitest declares its asymmetric matchers as `any`. */
const matching = (re: RegExp): unknown => expect.stringMatching(re) as unknown;

describe('soundstep CLI', () => {
  it('--help prints the usage', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/soundstep generate --pack DIR --prompt TEXT --out FILE\.wav/);
    expect(r.out).toMatch(/--backend B/);
  });

  it('refuses unknown flags, commands and bad values with exit code 2', async () => {
    expect(await run('generate', '--colour', 'red')).toMatchObject({ code: 2, err: matching(/Unknown option '--colour'/) });
    expect(await run('fly')).toMatchObject({ code: 2, err: matching(/unknown command "fly"/) });
    expect(await run('generate', '--prompt', 'x')).toMatchObject({ code: 2, err: matching(/needs --out/) });
    expect(await run('bench', '--backend', 'cuda')).toMatchObject({ code: 2, err: matching(/--backend must be cpu or wasm/) });
    expect(await run('bench', '--precision', 'int4')).toMatchObject({
      code: 2,
      err: matching(/--precision must be auto, float32, float16, int8, got "int4"/),
    });
    expect(await run('generate', 'a', 'dog')).toMatchObject({ code: 2, err: matching(/unexpected argument "a"/) });
    expect((await run()).code).toBe(2);
  });

  it('says which pack file is missing', async () => {
    const r = await run('bench', '--pack', join(tmp, 'nothing-here'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/manifest\.json: not found: the pack folder .*nothing-here does not exist/);
  });

  it('generate writes a WAV of audio.num_samples samples', async () => {
    const pack = requirePack();
    const out = join(tmp, 'dog.wav');
    const r = await run('generate', '--pack', pack, '--prompt', 'a dog barks', '--steps', '2', '--seed', '3', '--out', out);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote .*dog\.wav: 2\.56 s at 16000 Hz/);
    const manifest = JSON.parse(await readFile(join(pack, 'manifest.json'), 'utf8')) as { audio: { num_samples: number } };
    const wav = parseWav(new Uint8Array(await readFile(out)));
    expect(wav.samples.length).toBe(manifest.audio.num_samples);
    expect(wav.sampleRate).toBe(16000);
    const bad = await run('generate', '--pack', pack, '--prompt', 'x', '--steps', '3', '--out', out);
    expect(bad).toMatchObject({ code: 1, err: matching(/steps 3 does not divide 1000/) });
  });

  it('on wasm, loads the default student\'s int8 variant as the page does, unless asked for float32', async () => {
    const pack = join(REPO_DIR, 'public/models/soundstep-small-next'); // the pack with an int8 variant
    const out = join(tmp, 'int8.wav');
    const args = ['generate', '--pack', pack, '--backend', 'wasm', '--threads', '1', '--denoiser', 'snr-trunc-25',
      '--prompt', 'a dog barks', '--out', out];
    const auto = await run(...args);
    expect(auto.code).toBe(0);
    expect(auto.err).toMatch(/on wasm \(1 thread; int8 arithmetic for 1 of \d+ graphs: faster than float32 on WASM\)/);
    const float32 = await run(...args, '--precision', 'float32');
    expect(float32.code).toBe(0);
    expect(float32.err).toMatch(/on wasm \(1 thread; float32 weights, as requested\)/);
    const cpu = await run('generate', '--pack', pack, '--threads', '1', '--denoiser', 'snr-trunc-25', '--prompt', 'a dog barks', '--out', out);
    expect(cpu.err).toMatch(/on cpu \(1 thread; float32 weights: the int8 variants are for WASM \(no faster on onnxruntime-node\)\)/);
  }, 120_000);
});
