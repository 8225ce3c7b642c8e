import type { InferenceSession } from 'onnxruntime-node';
import type { Plain, Run } from '../handlers/pipelines.js';

/** Adapts an InferenceSession to the plain-tensor `Run` the pipelines use. */
export async function sessionRun(session: InferenceSession): Promise<Run> {
  const ort = (await import('onnxruntime-node')).default;
  return async (feeds: Record<string, Plain>) => {
    const t: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const [k, v] of Object.entries(feeds))
      t[k] = new ort.Tensor(v.dtype as 'float32', v.data as Float32Array, v.shape);
    return session.run(t) as unknown as ReturnType<Run>;
  };
}
