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

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface OrtModule {
  InferenceSession: {
    create(buffer: Uint8Array, options?: object): Promise<OrtSession>;
  };
  Tensor: OrtTensorConstructor;
}
