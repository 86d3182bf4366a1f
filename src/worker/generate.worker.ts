// The generation worker: owns onnxruntime-web and the Pipeline, so the page never blocks.
// Speaks src/worker/protocol.ts. This file is the router: requests run one at a time (ORT-web
// throws on concurrent session creation); 'cancel' is handled at once by aborting the
// request's AbortController. Loading is ./pack-loader.ts, the jobs ./job-runner.ts.
//
// onnxruntime-web is imported per backend by ./ort-loader.ts (which build, which .wasm).

import { httpFetchFile } from '../runtime/pack';
import { browserCacheStorage, PACK_CACHE_NAME } from '../runtime/pack-cache';
import { selectDevice, type GpuLike } from './device';
import { runDenoiseOnce, runGenerate } from './job-runner';
import { rebuildOnWasm, type GpuDeviceLike } from './device-lost';
import { loadOrt, webgpuDevice } from './ort-loader';
import { runLoad, type LoadEnv } from './pack-loader';
import { PromptReader } from './prompt-reader';
import type { WorkerReply, WorkerRequest } from './protocol';
import { createContext } from './worker-context';

/** The worker global, typed with only what we use (the DOM lib has no worker scope). */
interface WorkerScope {
  readonly name: string;
  readonly crossOriginIsolated: boolean;
  readonly navigator: Navigator & { gpu?: GpuLike };
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerRequest>) => void): void;
}
const scope = self as unknown as WorkerScope;

const ctx = createContext((reply, transfer) => scope.postMessage(reply, transfer));

/** The browser side of loading: WebGPU or WASM, onnxruntime-web, fetch and Cache Storage. */
const browser: LoadEnv = {
  crossOriginIsolated: scope.crossOriginIsolated,
  selectDevice: (preference) =>
    selectDevice(preference, {
      gpu: scope.navigator.gpu,
      crossOriginIsolated: scope.crossOriginIsolated,
      hardwareConcurrency: scope.navigator.hardwareConcurrency,
    }),
  loadOrt,
  fetchFile: httpFetchFile,
  // an error opening it is reported (the pack is then not kept offline, and the user is told why)
  openCache: async () => (await browserCacheStorage()?.open(PACK_CACHE_NAME)) ?? null,
  storageEstimate: async () => (scope.navigator.storage?.estimate ? scope.navigator.storage.estimate() : null),
  webgpuDevice: async () => {
    const device = (await webgpuDevice()) as GpuDeviceLike | null;
    // TEST HOOK (e2e/device-lost.webgpu.spec.ts destroys it from the test): the device, nothing else
    if (device) (scope as { __soundstepGpuDevice?: GpuDeviceLike }).__soundstepGpuDevice = device;
    return device;
  },
};

/** the tail of the request chain: each request starts when the previous one settled */
let chain: Promise<void> = Promise.resolve();
/** requests on the chain that have not settled */
let queued = 0;

/** Prompt readings run only while the chain is empty, so they never hold up a generation. */
const reader = new PromptReader({
  pack: () => ctx.loaded?.pipeline ?? null,
  busy: () => queued > 0,
  post: (reply) => ctx.post(reply),
});

function enqueue(task: () => Promise<void>): void {
  queued++;
  chain = chain.then(task, task).finally(() => {
    queued--;
    reader.kick();
  });
}

// a lost WebGPU device: the pack is loaded again on WASM after the request now running
ctx.onDeviceLost = (reason) => enqueue(() => rebuildOnWasm(ctx, (req) => runLoad(ctx, browser, req), reason));

/** loads sent and not settled: 'cancel-load' aborts them all (the running one and any queued) */
const loads = new Set<AbortController>();

function onMessage(e: MessageEvent<WorkerRequest>): void {
  const msg = e.data;
  switch (msg.type) {
    case 'load': {
      const controller = new AbortController();
      loads.add(controller);
      enqueue(() => runLoad(ctx, browser, msg, controller.signal).finally(() => loads.delete(controller)));
      break;
    }
    case 'cancel-load':
      for (const controller of loads) controller.abort();
      break;
    case 'generate': {
      const controller = new AbortController();
      ctx.controllers.set(msg.id, controller);
      enqueue(() => runGenerate(ctx, msg, controller));
      break;
    }
    case 'cancel': {
      const step = ctx.denoiseStep.get(msg.id);
      if (step !== undefined && !ctx.cancelStep.has(msg.id)) ctx.cancelStep.set(msg.id, step);
      ctx.controllers.get(msg.id)?.abort();
      break;
    }
    case 'denoise-once':
      enqueue(() => runDenoiseOnce(ctx, msg));
      break;
    case 'read-prompt':
      reader.request(msg);
      break;
    default: {
      const unknown: never = msg;
      ctx.post({
        status: 'error',
        during: 'generate',
        kind: 'input',
        message: `unknown request ${JSON.stringify(unknown)}`,
        recoverable: ctx.loaded !== null,
      });
    }
  }
}

// ORT's WASM threads may start this chunk as a pthread worker: only the real worker listens.
if (!scope.name.startsWith('em-pthread')) {
  scope.addEventListener('message', onMessage);
}
