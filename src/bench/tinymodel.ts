// The tiny ONNX model of the runtime-baseline measurement: a weightless
// Identity model (src/onnx/identity.ts), written to a file.
// The full synthetic-model generator lives in src/gen; this file only exists
// so the measurement kit does not depend on it.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { IDENTITY_INPUT, IDENTITY_OUTPUT, identityModelBytes } from '../onnx/identity.js';

export interface WrittenModel {
  modelPath: string;
  /** Bytes of weights (sum of initializer sizes). */
  weightBytes: number;
  inputName: string;
  outputName: string;
}

/** Writes a weightless `Y = Identity(X)`, X: [N, dim] float32: the smallest real session. */
export function writeIdentityModel(dir: string, name = 'identity', dim = 4): WrittenModel {
  mkdirSync(dir, { recursive: true });
  const modelPath = path.join(dir, `${name}.onnx`);
  writeFileSync(modelPath, identityModelBytes(name, dim));
  return { modelPath, weightBytes: 0, inputName: IDENTITY_INPUT, outputName: IDENTITY_OUTPUT };
}
