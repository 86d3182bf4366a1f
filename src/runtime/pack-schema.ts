// The JSON Schema of soundstep-pack/1 (docs/soundstep-pack-1.schema.json, the contract the factory
// also validates against), compiled with ajv, and its refusals turned into the sentences the app
// shows: the field's path as the manifest spells it, what it must be, and what it got, e.g.
//   denoisers[1] ("bsa25").method must be "bsa" or "snr-trunc" or ... (got "magic")
//   latent.scale must be > 0 (got -1)
// A subschema's `x-messages` (ignored by validators) words the refusal of one keyword.

import type { ErrorObject } from 'ajv';
import schema from '../../docs/soundstep-pack-1.schema.json';
import { pathProblem } from './pack-paths';
// the schema compiled ahead of time (pack-schema-codegen.ts): no code is compiled at run time,
// so the app runs under a Content-Security-Policy without 'unsafe-eval'
import { validate as validateSchema } from './pack-schema-validate.generated.js';

type Schema = { readonly [key: string]: unknown };

const SCHEMA: Schema = schema;
const DEFS = SCHEMA['$defs'] as Record<string, Schema>;
const RANGE_KEYWORDS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);

/** "missing", or "got <the value as JSON, shortened>". */
export function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'function' || typeof value === 'symbol') return `got ${String(value)}`; // no JSON text
  const text = JSON.stringify(value) as string | undefined; // undefined where a toJSON() says so
  return `got ${text === undefined ? 'a value with no JSON text' : text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

/**
 * Null when `json` matches the schema; else one refusal in words, naming the field. A wrong
 * value is reported before a missing one (a teacher entry with a student's guidance is told
 * its guidance type, not that default_scale is missing).
 */
export function schemaProblem(json: unknown): string | null {
  if (validateSchema(json)) return null;
  // 'if' and 'propertyNames' only restate the refusal of a subschema, which is listed too
  const errors = (validateSchema.errors ?? []).filter((e) => e.keyword !== 'if' && e.keyword !== 'propertyNames');
  const first = errors.find((e) => e.keyword !== 'required') ?? errors[0];
  return first ? explain(first, json) : 'does not match docs/soundstep-pack-1.schema.json';
}

/** The schema with its `$ref` (a '#/$defs/<name>') merged in, its own keywords winning. */
function resolve(s: Schema): Schema {
  const ref = s['$ref'];
  if (typeof ref !== 'string') return s;
  const target = DEFS[ref.replace('#/$defs/', '')];
  if (!target) throw new Error(`docs/soundstep-pack-1.schema.json: unknown $ref ${ref}`);
  const { $ref: _ref, ...own } = s;
  return { ...resolve(target), ...own };
}

function types(s: Schema): string[] {
  const t = s['type'];
  return Array.isArray(t) ? (t as string[]) : typeof t === 'string' ? [t] : [];
}

/** What a value must be, in words: '"trailing"', 'an integer >= 1', 'a non-empty list', ... */
function expected(schema: Schema): string {
  const s = resolve(schema);
  if ('const' in s) return JSON.stringify(s['const']);
  if (Array.isArray(s['enum'])) return s['enum'].map((v) => JSON.stringify(v)).join(' or ');
  const min = s['minimum'] ?? s['exclusiveMinimum'];
  const words: Record<string, string> = {
    integer: `an integer >= ${typeof min === 'number' ? min : '-Infinity'}`,
    number: 'a number',
    string: s['minLength'] ? 'a non-empty string' : 'a string',
    array: s['minItems'] ? 'a non-empty list' : 'a list',
    object: 'an object',
    boolean: 'true or false',
    null: 'null',
  };
  // a rule without a type of its own (#/$defs/pathRule) is a string rule
  const named = types(s).length > 0 ? types(s) : 'minLength' in s || 'pattern' in s ? ['string'] : [];
  return named.map((t) => words[t] ?? t).join(' or ') || 'valid';
}

/** The range a number must lie in: '> 0', '>= 0', 'in 0..1', '> 0 and < 1'. */
function range(s: Schema): string {
  const bound = (inclusive: string, exclusive: string, op: string): string | null => {
    const inc = s[inclusive];
    const exc = s[exclusive];
    if (typeof inc === 'number') return `${op}= ${inc}`;
    return typeof exc === 'number' ? `${op} ${exc}` : null;
  };
  const lo = bound('minimum', 'exclusiveMinimum', '>');
  const hi = bound('maximum', 'exclusiveMaximum', '<');
  if (lo?.startsWith('>=') && hi?.startsWith('<=')) return `in ${String(s['minimum'])}..${String(s['maximum'])}`;
  return [lo, hi].filter((b) => b !== null).join(' and ');
}

function pointer(instancePath: string): string[] {
  if (instancePath === '') return [];
  return instancePath.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * The field as the manifest spells it: audio.sample_rate, files["vocoder.onnx"].sha256,
 * denoisers[1] ("bsa25").steps (a denoiser is named by its id once the id is known).
 */
function fieldPath(root: unknown, tokens: readonly string[]): string {
  let out = '';
  let node: unknown = root;
  for (const [k, token] of tokens.entries()) {
    if (Array.isArray(node)) {
      out += `[${token}]`;
      const id: unknown = (node[Number(token)] as Record<string, unknown> | undefined)?.['id'];
      const inside = k + 1 < tokens.length && tokens[k + 1] !== 'id';
      if (k === 1 && tokens[0] === 'denoisers' && inside && typeof id === 'string' && id !== '') out += ` ("${id}")`;
    } else if (k === 1 && tokens[0] === 'files') {
      out += `["${token}"]`;
    } else {
      out += out === '' ? token : `.${token}`;
    }
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[token] : undefined;
  }
  return out === '' ? 'the manifest' : out;
}

/** One ajv error in words (see the top of this file). */
function explain(e: ErrorObject, root: unknown): string {
  const parent = (e.parentSchema ?? {}) as Schema;
  const at = pointer(e.instancePath);
  if (e.keyword === 'required') {
    const key = (e.params as { missingProperty: string }).missingProperty;
    const properties = (resolve(parent)['properties'] ?? {}) as Record<string, Schema>;
    const child = resolve(properties[key] ?? {});
    const path = fieldPath(root, [...at, key]);
    return types(child).includes('null') ? `${path} is missing (use null for none)` : `${path} must be ${expected(child)} (missing)`;
  }
  // a refused property name: the name is the value, and the path already shows it
  const path = fieldPath(root, e.propertyName === undefined ? at : [...at, e.propertyName]);
  const got = e.propertyName === undefined ? ` (${describe(e.data)})` : '';
  const custom = (parent['x-messages'] as Record<string, string> | undefined)?.[e.keyword];
  // a refused path says why: encoded traversal, an absolute URL, '//host', a backslash ...
  const value: unknown = e.propertyName ?? e.data;
  const why = e.keyword === 'pattern' && parent['pattern'] === DEFS['pathRule']?.['pattern'] && typeof value === 'string' ? pathProblem(value) : null;
  if (custom && why) return `${path} ${custom}${got}: ${why}`;
  if (custom) return `${path} ${custom}${got}`;
  if (e.keyword === 'uniqueItems') {
    const { i, j } = e.params as { i: number; j: number };
    const later = Math.max(i, j);
    return `${path}[${later}]: ${JSON.stringify((e.data as unknown[])[later])} is listed twice`;
  }
  if (RANGE_KEYWORDS.has(e.keyword) && !types(parent).includes('integer')) {
    return `${path} must be ${range(parent)} (got ${String(e.data)})`;
  }
  return `${path} must be ${expected(parent)}${got}`;
}
