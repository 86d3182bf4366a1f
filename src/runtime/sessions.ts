// The Pipeline's ONNX sessions: those created at load, and the others (denoisers, the VAE
// encoder) created on first use through the load's GraphLoader (./pipeline-load.ts), so an
// on-demand file goes through the same cache, checks and progress as at load.
//
// Every session run and every session create passes through one queue, one at a time
// (onnxruntime-web throws on concurrent creates; STYLE.md chains creates and runs). Downloads
// run outside that queue, one graph at a time, so a second request for the same graph waits
// for the first and then finds it loaded.

import { CancelledError, PackError } from './errors';
import { runGraph, type Graph } from './graph-io';
import { sourceBytes, type PackGraph } from './graphs';
import type { Manifest } from './manifest';
import type { OrtTensor } from './ort';
import type { GraphLoader, GraphLoadOptions } from './pipeline-load';

/** A graph of the pack whose session is not created yet: what its first use downloads. */
export interface NotLoaded {
  kind: PackGraph['kind'];
  /** the denoiser id, for denoisers */
  denoiserId?: string;
  /** the graph file it will load (the chosen precision's) */
  file: string;
  /** bytes of its files, as manifest.json lists them (external data included) */
  bytes: number;
}

export class PackSessions {
  /** session runs and creates are chained one at a time */
  private queue: Promise<unknown> = Promise.resolve();
  /** on-demand loads, one graph at a time */
  private loading: Promise<unknown> = Promise.resolve();
  private disposed = false;

  /** `graphs`: the sessions created at load, by the graph's float32 file */
  constructor(
    private readonly manifest: Manifest,
    private readonly graphs: Map<string, Graph>,
    private readonly loader: GraphLoader,
  ) {}

  /** The session of `graph` when it is created, else undefined. */
  get(graph: PackGraph): Graph | undefined {
    return this.graphs.get(graph.float32.file);
  }

  /** Every session created so far. */
  loaded(): Graph[] {
    return [...this.graphs.values()];
  }

  /** The pack's graphs without a session yet, with what each would download. */
  notLoaded(graphs: readonly PackGraph[]): NotLoaded[] {
    return graphs
      .filter((g) => !this.graphs.has(g.float32.file))
      .map((g) => {
        const source = this.loader.source(g);
        return { kind: g.kind, denoiserId: g.denoiserId, file: source.file, bytes: sourceBytes(this.manifest, source) };
      });
  }

  /**
   * The session of `graph`, created on first use: its files are fetched (or read from the
   * cache) and verified, reporting `onFile` progress; aborting `signal` stops the download with
   * CancelledError, and nothing is kept of it, so a later call starts it again. A failed
   * download throws PackError naming the file and saying that the rest of the pack still works.
   */
  ensure(graph: PackGraph, opts: GraphLoadOptions = {}): Promise<Graph> {
    // a loaded graph does not wait behind another graph's download
    const loaded = this.get(graph);
    if (loaded && !this.disposed) return Promise.resolve(loaded);
    const task = async (): Promise<Graph> => {
      this.checkAlive();
      const have = this.get(graph);
      if (have) return have;
      if (opts.signal?.aborted) throw new CancelledError();
      const files = await this.loader.fetch(graph, opts).catch((e: unknown) => {
        throw onDemandError(e);
      });
      const created = await this.exclusive(() => this.loader.create(graph, files));
      if (this.disposed) {
        await created.session.release().catch(() => undefined);
        throw new Error('this Pipeline was disposed');
      }
      this.graphs.set(graph.float32.file, created);
      return created;
    };
    const result = this.loading.then(task, task);
    this.loading = result.catch(() => undefined);
    return result;
  }

  /** Runs one session (chained after every other run and create), checks the output's shape, copies it out. */
  run(graph: Graph, feeds: Record<string, OrtTensor>, expected: number[], signal?: AbortSignal): Promise<Float32Array> {
    return this.exclusive(async () => {
      this.checkAlive();
      if (signal?.aborted) throw new CancelledError();
      return runGraph(graph, feeds, expected);
    });
  }

  /** Releases every session; nothing can run afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.catch(() => undefined);
    for (const g of this.graphs.values()) await g.session.release().catch(() => undefined);
  }

  checkAlive(): void {
    if (this.disposed) throw new Error('this Pipeline was disposed');
  }

  /** `task` after every run and create queued before it. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/**
 * A download that failed on first use, said so: the pack stays loaded and the graphs already
 * created keep working, so the user only has to try again (or pick another model).
 */
function onDemandError(e: unknown): unknown {
  if (!(e instanceof PackError) || e.kind !== 'pack') return e;
  return new PackError(
    e.file,
    `${e.problem.replace(/\.$/, '')}. It is downloaded on first use; nothing else was lost: the results stay and the other models still work. ` +
      'Check your connection and generate again to retry, or choose a model that is already downloaded',
    { cause: e, network: e.network, notFound: e.notFound },
  );
}
