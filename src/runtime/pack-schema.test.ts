import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import schema from '../../docs/soundstep-pack-1.schema.json';
import { main, validatePack } from '../cli/validate-pack';
import { validateManifest } from './manifest';
import { schemaProblem } from './pack-schema';
import { GENERATED_VALIDATOR, packSchemaModule } from './pack-schema-codegen';
import { DISTILLATION_METHODS, PACK_FORMAT, VARIANT_DTYPES } from './pack-types';

const SHIPPED = 'public/models/soundstep-small';
const shipped = (): Record<string, any> => JSON.parse(readFileSync(`${SHIPPED}/manifest.json`, 'utf8'));

describe('docs/soundstep-pack-1.schema.json', () => {
  it('accepts the shipped pack, and the app loads it (validatePack: manifest, then every file)', async () => {
    expect(schemaProblem(shipped())).toBeNull();
    expect(validateManifest(shipped()).id).toBe('soundstep-small');
    const m = await validatePack(SHIPPED);
    expect(Object.keys(m.files).length).toBeGreaterThan(0);
  });

  it('agrees with the names the types list (format, methods, variant dtypes)', () => {
    const defs = schema.$defs;
    expect(schema.properties.format.const).toBe(PACK_FORMAT);
    expect(defs.denoiser.allOf[1]?.then.properties.method?.enum).toEqual([...DISTILLATION_METHODS]);
    expect(defs.variant.properties.dtype.enum).toEqual([...VARIANT_DTYPES]);
  });

  it('words refusals with the field path, what it must be and what it got', () => {
    const refusal = (edit: (m: Record<string, any>) => void): string | null => {
      const m = shipped();
      edit(m);
      return schemaProblem(m);
    };
    expect(refusal((m) => (m['vocoder'].file = ''))).toBe('vocoder.file must be a non-empty string (got "")');
    expect(refusal((m) => delete m['denoisers'][0].method)).toBe('denoisers[0] ("teacher").method is missing (use null for none)');
    expect(refusal((m) => (m['schedule'].beta_end = 1.5))).toBe('schedule.beta_end must be > 0 and < 1 (got 1.5)');
    expect(refusal((m) => (m['denoisers'][1].id = ''))).toBe('denoisers[1].id must be a non-empty string (got "")');
    expect(refusal((m) => (m['files']['a//b.onnx'] = { bytes: 1, sha256: 'a'.repeat(64) }))).toBe(
      'files["a//b.onnx"] must be a relative path inside the pack: it has an empty part ("//" or a trailing "/")',
    );
    expect(refusal((m) => (m['files']['manifest.json'] = { bytes: 1, sha256: 'a'.repeat(64) }))).toMatch(
      /^files\["manifest\.json"\] names manifest\.json, which files must not list/,
    );
    // a wrong value is told before a missing one
    expect(refusal((m) => (m['denoisers'][1].guidance = { type: 'classifier-free' }))).toBe(
      'denoisers[1] ("bsa-100").guidance.type must be "folded" (got "classifier-free")',
    );
  });
});

describe('the standalone validator (no code compiled at run time: the CSP has no unsafe-eval)', () => {
  it('is the one the schema gives now (else: npx tsx src/cli/compile-pack-schema.ts)', () => {
    expect(readFileSync(GENERATED_VALIDATOR, 'utf8')).toBe(packSchemaModule());
  });
});

describe('src/cli/validate-pack.ts', () => {
  it('exits 0 on the shipped pack and 1 with the message on a missing one', async () => {
    expect(await main([SHIPPED, '--manifest-only'])).toBe(0);
    expect(await main(['/nonexistent/pack', '--manifest-only'])).toBe(1);
    expect(await main([])).toBe(2);
  });
});
