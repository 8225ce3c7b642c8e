// The model alone, in this process: what batching could gain at most, and the
// fastest time per sequence, which sets the scale of every offered load.
import { median } from './numbers.js';
import type { Compute } from './results.js';

/** The model alone in this process (onnxruntime-node, 1 intra-op thread): median ms per sequence at batch 1, 4, 8, 16. */
export async function computeCeiling(file: string, seq: number, quick: boolean): Promise<Compute> {
  const ort = (await import('onnxruntime-node')).default;
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const perItemMs: Record<string, number> = {};
  let fastestMs = Infinity;
  try {
    for (const b of [1, 4, 8, 16]) {
      const n = b * seq;
      const t = (fill: (i: number) => bigint) =>
        new ort.Tensor(
          'int64',
          BigInt64Array.from({ length: n }, (_, i) => fill(i)),
          [b, seq],
        );
      const feeds = {
        input_ids: t((i) => BigInt(1 + (i % 1000))),
        attention_mask: t(() => 1n),
        token_type_ids: t(() => 0n),
      };
      await session.run(feeds);
      const times: number[] = [];
      for (let k = 0; k < Math.max(3, Math.ceil((quick ? 8 : 32) / b)); k++) {
        const t0 = performance.now();
        await session.run(feeds);
        times.push(performance.now() - t0);
      }
      perItemMs[String(b)] = median(times) / b;
      fastestMs = Math.min(fastestMs, Math.min(...times) / b);
    }
  } finally {
    await session.release();
  }
  const best = Math.min(...Object.values(perItemMs));
  return { perItemMs, gain: perItemMs['1']! / best, fastestMs };
}
