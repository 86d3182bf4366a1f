// The part of the onnxruntime API that onnxruntime-web and onnxruntime-node share, defined
// structurally so either module (`await import('onnxruntime-web')` or 'onnxruntime-node') can be
// passed to the Pipeline without this file importing either.

/** A tensor as both runtimes return it (CPU location). */
export interface OrtTensor {
  readonly dims: readonly number[];
  readonly type: string;
  readonly data: unknown;
  dispose?(): void;
}

export interface OrtTensorConstructor {
  new (type: 'float32', data: Float32Array, dims?: readonly number[]): OrtTensor;
  new (type: 'int64', data: BigInt64Array, dims?: readonly number[]): OrtTensor;
}

/** An input or output as InferenceSession.inputMetadata reports it (ORT >= 1.22). */
export interface OrtValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  /** element type, e.g. 'float32' (tensors only) */
  readonly type?: string;
  /** dimensions, a name for a symbolic one (e.g. ['B', 4, 64, 16]); absent where the runtime does not say */
  readonly shape?: ReadonlyArray<number | string>;
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
  /** `fetches`: pre-allocated outputs (e.g. GPU buffers, Tensor.fromGpuBuffer) that the run writes into */
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface OrtModule {
  InferenceSession: {
    /** from the model's bytes, or (onnxruntime-node) from its file path */
    create(model: Uint8Array | string, options?: object): Promise<OrtSession>;
  };
  Tensor: OrtTensorConstructor;
}
