// An OrtModule whose session runs first yield to the worker's event loop.
//
// Why: onnxruntime-web's WASM `run()` can settle through microtasks only, so a whole
// generation (hundreds of runs) would never let the worker see a 'cancel' message until it
// ended. Yielding one macrotask before each run lets messages in between network evaluations;
// the Pipeline then sees the aborted signal at its next run.

import type { OrtModule, OrtSession } from '../runtime/ort';

const channel = new MessageChannel();
const waiting: Array<() => void> = [];
channel.port1.onmessage = () => waiting.shift()?.();

/** Resolves in a new macrotask (a MessageChannel message: no setTimeout clamping). */
export function nextMacrotask(): Promise<void> {
  return new Promise<void>((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });
}

function yielding(session: OrtSession): OrtSession {
  return {
    get inputNames() {
      return session.inputNames;
    },
    get outputNames() {
      return session.outputNames;
    },
    get inputMetadata() {
      return session.inputMetadata;
    },
    get outputMetadata() {
      return session.outputMetadata;
    },
    // fetches pass through: the WebGPU device loop's outputs are GPU buffers it pre-allocated
    run: async (feeds, fetches) => {
      await nextMacrotask();
      return fetches ? session.run(feeds, fetches) : session.run(feeds);
    },
    release: () => session.release(),
  };
}

/**
 * `ort` with every session's run() preceded by one trip through the event loop. The rest of the
 * module passes through as it is: the WebGPU device loop needs its `env.webgpu` and
 * Tensor.fromGpuBuffer (without them it never ran in the app, docs/speed.md).
 */
export function withYieldingRuns(ort: OrtModule): OrtModule {
  return {
    ...ort,
    InferenceSession: {
      create: async (buffer, options) => yielding(await ort.InferenceSession.create(buffer, options)),
    },
  };
}
