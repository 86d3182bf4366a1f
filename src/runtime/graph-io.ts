// Graph I/O: each graph's interface (docs/pack-format.md), the checks a session must pass when
// it is created, and one checked run of a session.

import { PackError, SoundstepError } from './errors';
import { externalDataEntries, type GraphKind, type GraphSource } from './graphs';
import type { OrtSession, OrtTensor } from './ort';

/** A created session and the pack file it came from. */
export interface Graph {
  file: string;
  kind: GraphKind;
  session: OrtSession;
}

/** Each graph's interface (docs/pack-format.md): input names and the output name. */
export const GRAPH_IO: Record<GraphKind, { inputs: readonly string[]; output: string }> = {
  text: { inputs: ['input_ids', 'attention_mask'], output: 'last_hidden_state' },
  denoiser: {
    inputs: ['sample', 'timestep', 'encoder_hidden_states', 'encoder_attention_mask'],
    output: 'v_prediction',
  },
  vae: { inputs: ['latent'], output: 'log_mel' },
  'vae-encoder': { inputs: ['log_mel'], output: 'latent' },
  vocoder: { inputs: ['log_mel'], output: 'waveform' },
};

/** Element types of each graph input (docs/pack-format.md); outputs are float32. */
const INPUT_TYPES: Record<string, string> = {
  input_ids: 'int64',
  attention_mask: 'int64',
  sample: 'float32',
  timestep: 'int64',
  encoder_hidden_states: 'float32',
  encoder_attention_mask: 'int64',
  latent: 'float32',
  log_mel: 'float32',
};

/**
 * Input checks: the graph must have the inputs and the output docs/pack-format.md names, with
 * their element types where the runtime reports them (a float16 variant must keep float32
 * inputs and outputs).
 */
export function checkGraphIo(graph: Graph): void {
  const io = GRAPH_IO[graph.kind];
  const missing = io.inputs.filter((name) => !graph.session.inputNames.includes(name));
  if (missing.length > 0) {
    throw new PackError(
      graph.file,
      `missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (the graph has: ${graph.session.inputNames.join(', ')})`,
    );
  }
  if (!graph.session.outputNames.includes(io.output)) {
    throw new PackError(graph.file, `missing output ${io.output} (the graph has: ${graph.session.outputNames.join(', ')})`);
  }
  const wrong = [
    ...(graph.session.inputMetadata ?? [])
      .filter((v) => io.inputs.includes(v.name))
      .map((v) => ({ v, want: INPUT_TYPES[v.name] ?? 'float32', what: 'input' })),
    ...(graph.session.outputMetadata ?? [])
      .filter((v) => v.name === io.output)
      .map((v) => ({ v, want: 'float32', what: 'output' })),
  ].filter(({ v, want }) => v.isTensor && v.type !== undefined && v.type !== want);
  if (wrong.length > 0) {
    const list = wrong.map(({ v, want, what }) => `${what} ${v.name} is ${v.type}, expected ${want}`).join('; ');
    throw new PackError(
      graph.file,
      `${list}. Graph inputs and outputs stay float32 even in a float16 variant ` +
        '(convert with keep_io_types=True, as soundstep_factory.repack does)',
    );
  }
}

const shapeText = (dims: ReadonlyArray<number | string>): string => `[${dims.join(', ')}]`;

/**
 * The first feed whose shape the graph's declared input shape refuses (a fixed dimension that
 * differs, or another rank), as a PackError naming the graph, the input and both shapes; null
 * when every feed fits or the runtime does not report shapes.
 */
export function feedShapeMismatch(graph: Graph, feeds: Record<string, OrtTensor>): PackError | null {
  for (const meta of graph.session.inputMetadata ?? []) {
    const feed = feeds[meta.name];
    const want = meta.shape;
    if (!feed || !meta.isTensor || !want) continue;
    const fits = want.length === feed.dims.length && want.every((d, i) => typeof d !== 'number' || d < 0 || d === feed.dims[i]);
    if (!fits) {
      return new PackError(
        graph.file,
        `input "${meta.name}" gets shape ${shapeText(feed.dims)} from the manifest, but this ${graph.kind} graph expects ${shapeText(want)}. ` +
          'The manifest and the graph disagree, so the pack is broken: load another pack, or rebuild this one with the factory.',
      );
    }
  }
  return null;
}

/** ONNX Runtime's own words about input shapes (its text names no file: ours adds it). */
const ORT_SHAPE_ERROR = /invalid (dimensions|rank)|shape mismatch|incompatible dimensions|dimension.*(mismatch|expected)/i;

/** An error a session run threw, named with the graph and the shapes it was given. */
function runFailure(graph: Graph, feeds: Record<string, OrtTensor>, e: unknown): unknown {
  if (e instanceof SoundstepError) return e; // ours already (a cancel, a pack problem)
  // ORT's text spans lines and ends in its own full stop: one line here, inside our sentence
  const text = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim().replace(/\.+$/, '');
  const given = Object.entries(feeds).map(([name, t]) => `${name} ${shapeText(t.dims)}`).join(', ');
  const shape = ORT_SHAPE_ERROR.test(text);
  return new PackError(
    graph.file,
    shape
      ? `the ${graph.kind} graph refused the shapes of its inputs (${given}): ${text}. The manifest and the graph disagree: load another pack, or rebuild this one.`
      : `running the ${graph.kind} graph failed (inputs ${given}): ${text}`,
    { cause: e, kind: shape ? 'pack' : 'device' },
  );
}

/** Runs the session once, checks the output's type and shape, and copies it out. */
export async function runGraph(graph: Graph, feeds: Record<string, OrtTensor>, expected: number[]): Promise<Float32Array> {
  const io = GRAPH_IO[graph.kind];
  const mismatch = feedShapeMismatch(graph, feeds);
  if (mismatch) throw mismatch;
  let outputs: Record<string, OrtTensor>;
  try {
    outputs = await graph.session.run(feeds);
  } catch (e) {
    throw runFailure(graph, feeds, e);
  }
  const out = outputs[io.output];
  try {
    if (!out) throw new PackError(graph.file, `returned no output "${io.output}"`);
    if (out.type !== 'float32' || !ArrayBuffer.isView(out.data)) {
      throw new PackError(graph.file, `output "${io.output}" is ${out.type}, expected float32`);
    }
    if (out.dims.length !== expected.length || out.dims.some((d, i) => d !== expected[i])) {
      throw new PackError(
        graph.file,
        `output "${io.output}" has shape [${out.dims.join(', ')}], the manifest implies [${expected.join(', ')}]`,
      );
    }
    return new Float32Array(out.data as Float32Array);
  } finally {
    for (const t of Object.values(outputs)) t.dispose?.();
  }
}

/**
 * The graph's external-data files (manifest `external_data`) handed to the session as
 * `externalData: [{ path, data }]` (onnxruntime-web), `path` being the name the graph records.
 */
export function withExternalData(options: object, source: GraphSource, bytes: (file: string) => Uint8Array): object {
  const external = externalDataEntries(source, bytes);
  return external.length > 0 ? { ...options, externalData: external } : options;
}
