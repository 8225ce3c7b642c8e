// The handler of a Triton model whose config.pbtxt reshapes tensors
// (`dims: [ 1 ] reshape: { shape: [ ] }`): an input whose declared shape
// differs from the model's gets the model's shape before the run, an output
// the declared dims after it, the batch dimension (max_batch_size > 0) kept
// on axis 0 so batches pass through. Runs in the instance processes (the
// catalog names it as the function's handler) and reads nothing but its
// context: the declared shapes are the function's metadata, the model's its
// I/O (to-function.ts allows a reshape only where these say it exactly:
// fixed sizes on both sides but the batch dimension).
import type { HandlerContext, HandlerResult } from '../functions/handler.js';
import { datatypeOf, type InferRequest, ioMetadata } from '../../tensor/index.js';

/** `want` with its free (-1) dimensions taken from `got` at the same place (only the batch dimension is free). */
const fill = (want: readonly number[], got: readonly number[]) => want.map((d, k) => (d < 0 ? got[k]! : d));

/** Whether `a` and `b` are one shape, free dimensions matching anything. */
const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, k) => d < 0 || b[k]! < 0 || d === b[k]);

export async function handle(request: InferRequest, ctx: HandlerContext): Promise<HandlerResult> {
  const model = Object.values(ctx.models)[0]!;
  const modelShape = new Map(model.inputs.map((io) => [io.name, ioMetadata(io).shape]));
  const declared = new Map(ctx.metadata.outputs.map((t) => [t.name, t.shape]));
  const feeds = Object.fromEntries(
    request.inputs.map((t) => {
      const want = modelShape.get(t.name);
      const shape = want && !same(want, t.shape) ? fill(want, t.shape) : t.shape;
      return [t.name, { datatype: t.datatype, shape, data: t.data }];
    }),
  );
  const wanted = (request.outputs ?? []).map((o) => o.name);
  const out = await model.run(feeds, wanted.length ? wanted : undefined);
  return {
    outputs: Object.entries(out).map(([name, o]) => {
      const want = declared.get(name);
      const shape = want && !same(want, o.dims) ? fill(want, o.dims) : [...o.dims];
      return { name, datatype: datatypeOf(o.type), shape, data: o.data as never };
    }),
  };
}
