// Graph I/O: each graph's interface (docs/pack-format.md), the checks a session must pass when
// it is created, and one checked run of a session.

import { PackError } from './errors';
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

/** Runs the session once, checks the output's type and shape, and copies it out. */
export async function runGraph(graph: Graph, feeds: Record<string, OrtTensor>, expected: number[]): Promise<Float32Array> {
  const io = GRAPH_IO[graph.kind];
  const outputs = await graph.session.run(feeds);
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
