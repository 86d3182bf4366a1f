// src/engine: the pure sampler math (no DOM, no ONNX Runtime). See the notation table in
// schedule.ts; every function cites the equation of docs/sampling.md it implements.
export * from './schedule';
export * from './ddim';
export * from './guidance';
export * from './sample';
export * from './rng';
export * from './wav';
