import { describe, expect, it } from 'vitest';
import { CancelledError, errorFile, errorKind, errorProblem, InputError, PackError, SoundstepError } from './errors';

describe('error kinds', () => {
  it('each error class says its kind; the message keeps the file in front, the problem does not', () => {
    const pack = new PackError('vocoder.onnx', 'size mismatch');
    expect([pack.kind, pack.message, pack.problem, errorFile(pack)]).toEqual(['pack', 'vocoder.onnx: size mismatch', 'size mismatch', 'vocoder.onnx']);
    const session = new PackError('vocoder.onnx', 'could not create an ONNX session on webgpu', { kind: 'device' });
    expect(errorKind(session)).toBe('device');
    expect(errorKind(new InputError('steps 3 does not divide 1000'))).toBe('input');
    const cancelled = new CancelledError();
    expect([errorKind(cancelled), cancelled.name, cancelled.message]).toEqual(['cancelled', 'AbortError', 'The generation was aborted.']);
    expect(cancelled).toBeInstanceOf(SoundstepError);
  });

  it('an error without a kind (a runtime failure, a bug) counts as device', () => {
    expect(errorKind(new Error('WebGPU device lost'))).toBe('device');
    expect(errorKind('a string')).toBe('device');
    expect(errorProblem(new Error('WebGPU device lost'))).toBe('WebGPU device lost');
    expect(errorProblem(new PackError('a.onnx', 'not found'))).toBe('not found');
    expect(errorFile(new InputError('x'))).toBeUndefined();
  });
});
