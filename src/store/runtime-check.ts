// Can ONNX Runtime run this graph, and at which optimization level does
// fast-open load it? Import asks before it publishes a model (import is all
// or nothing); every fast-open session creation walks the same levels.
//
// fast-open prefers 'disabled' (no optimizer rewrites a weight into private
// memory). Some valid graphs only load once ORT's basic rewrites have run
// (float16 attention graphs fail at 'disabled' with "Type (tensor(float)) of
// output arg (InsertedPrecisionFreeCast_...) does not match expected type");
// those open at 'basic' with the basic optimizers that rewrite weights turned
// off, so the weights stay the shared store pages.
import type { InferenceSession } from 'onnxruntime-node';
import { TensorshareError } from '../errors.js';
import type { IoSpec, OpenMode } from './manifest.js';

export type FastOpenLevel = 'disabled' | 'basic';
export const FAST_OPEN_LEVELS: readonly FastOpenLevel[] = ['disabled', 'basic'];

/**
 * Basic-level optimizers that write new initializers (folded constants, fused
 * Conv weights): turned off at 'basic' so no weight becomes a private copy.
 * ORT's list separator is ';' (a comma list is silently ignored).
 */
export const WEIGHT_REWRITING_OPTIMIZERS = ['ConstantFolding', 'ConvAddFusion', 'ConvMulFusion', 'ConvBNFusion'];

/** Data types that onnxruntime-node cannot hand to or take from a session. */
const UNFEEDABLE = new Set([
  'bfloat16',
  'complex64',
  'complex128',
  'float8e4m3fn',
  'float8e4m3fnuz',
  'float8e5m2',
  'float8e5m2fnuz',
  'uint4',
  'int4',
  'float4e2m1',
]);

/**
 * Creates a session in `mode`, walking fast-open's levels until one loads.
 * Returns the first error when none does (the 'disabled' failure is the one
 * that names the problem).
 */
export async function createAtLevels<T>(
  mode: OpenMode,
  create: (level: FastOpenLevel) => Promise<T>,
  levels: readonly FastOpenLevel[] = FAST_OPEN_LEVELS,
): Promise<{ session: T; level: FastOpenLevel }> {
  const tries = mode === 'fast-open' ? levels : ['disabled' as const];
  let first: unknown;
  for (const level of tries) {
    try {
      return { session: await create(level), level };
    } catch (e) {
      first ??= e;
      if (!isLoadFailure(e)) break;
    }
  }
  throw first;
}

/** An error from ORT refusing the graph (worth another level), not from a missing file or bad option. */
function isLoadFailure(e: unknown): boolean {
  const m = (e as Error)?.message ?? '';
  return !/No such file|ENOENT|invalid session option|Failed to add session config entry/i.test(m);
}

export interface RuntimeVerdict {
  /** The level fast-open loads at. */
  fastOpenLevel: FastOpenLevel;
}

/**
 * Loads a graph the way fast-open does; throws the project's named condition
 * when ONNX Runtime cannot load it at any level.
 */
export async function checkRunnable(
  create: (level: FastOpenLevel) => Promise<InferenceSession>,
  io: { inputs: readonly IoSpec[]; outputs: readonly IoSpec[] },
  what: string,
): Promise<RuntimeVerdict> {
  try {
    const { session, level } = await createAtLevels('fast-open', create);
    await session.release();
    return { fastOpenLevel: level };
  } catch (e) {
    throw runtimeError(e, io, what);
  }
}

/** Names why ONNX Runtime refused a model, in the project's terms (stable codes in errors.ts). */
export function runtimeError(
  e: unknown,
  io: { inputs: readonly IoSpec[]; outputs: readonly IoSpec[] },
  what: string,
): TensorshareError {
  if (e instanceof TensorshareError) return e;
  const raw = (e as Error)?.message ?? String(e);
  const ort = raw
    .replace(/^Load model from .*? failed:/, '')
    .replace(/\/onnxruntime_src\/\S+ \S+ [^)]*\) /, '')
    .trim()
    .slice(0, 400);
  const details = { model: what, ort };
  const odd = [
    ...io.inputs.map((v) => ({ ...v, kind: 'input' })),
    ...io.outputs.map((v) => ({ ...v, kind: 'output' })),
  ].find((v) => UNFEEDABLE.has(v.dtype));
  if (odd) {
    return new TensorshareError(
      'ERR_UNSUPPORTED_DTYPE',
      `${what}: ${odd.kind} '${odd.name}' is ${odd.dtype}, which onnxruntime-node cannot pass to or from a session (ONNX Runtime says: ${ort})`,
      { ...details, tensor: odd.name, dtype: odd.dtype },
      { cause: e },
    );
  }
  const opset =
    /Opset (\d+) is under development|opset (\d+) is not supported|Unsupported model IR version: (\d+)/i.exec(raw);
  if (opset) {
    return new TensorshareError(
      'ERR_UNSUPPORTED_OPSET',
      `${what}: ONNX Runtime does not support this model's opset or IR version (${ort})`,
      details,
      { cause: e },
    );
  }
  const op =
    /No Op registered for (\S+) with domain_version of (\d+)|Could not find an implementation for (\S+?)\((\d+)\)/.exec(
      raw,
    );
  if (op) {
    const name = op[1] ?? op[3];
    const version = op[2] ?? op[4];
    return new TensorshareError(
      'ERR_UNSUPPORTED_OPERATOR',
      `${what}: ONNX Runtime has no CPU kernel for operator ${name} (opset ${version}) with these types`,
      { ...details, operator: name, opset: Number(version) },
      { cause: e },
    );
  }
  return new TensorshareError('ERR_RUNTIME_REJECTED', `${what}: ONNX Runtime cannot load this model: ${ort}`, details, {
    cause: e,
  });
}
