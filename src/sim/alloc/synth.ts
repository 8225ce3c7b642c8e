// A seeded synthetic trace shaped like an inference server's: a model load
// (weights that stay), then requests at varying batch sizes, each a chain of
// layer activations (allocated, consumed by the next layer, freed) with
// occasional workspaces. For the scale check (a million events) and tests;
// the committed real traces are what the report is about.
import { Xoshiro128 } from '../../prng.js';
import { TraceBuilder, type AllocTrace } from './trace.js';

export interface SynthOptions {
  /** Stop after about this many events (the last request completes). */
  events: number;
  seed: number | string;
  layers?: number;
  weights?: number;
  batches?: readonly number[];
}

export function synthTrace(o: SynthOptions): AllocTrace {
  const rng = new Xoshiro128(o.seed);
  const u = () => rng.nextFloat();
  const b = new TraceBuilder('synthetic', 'synthetic');
  const layers = o.layers ?? 60;
  const batches = o.batches ?? [1, 2, 4, 8, 16, 32];
  let next = 0;
  let events = 0;
  const alloc = (bytes: number) => {
    const id = next++;
    b.alloc(id, bytes, 0);
    events++;
    return id;
  };
  const free = (id: number) => {
    b.free(id);
    events++;
  };
  b.mark({ name: 'load', model: 'synthetic' });
  // Weights: mostly small (biases, norms), some large (convolutions, embeddings).
  for (let i = 0; i < (o.weights ?? 300); i++)
    alloc(u() < 0.3 ? 512 * (1 + Math.floor(u() * 8)) : Math.floor(2 ** (14 + u() * 12)));
  // Per layer: activation bytes per batch row, and whether it takes a workspace.
  const shape = Array.from({ length: layers }, () => ({ row: Math.floor(2 ** (10 + u() * 10)), ws: u() < 0.3 }));
  while (events < o.events) {
    const batch = batches[Math.floor(u() * batches.length)]!;
    b.mark({ name: 'request', batch, model: 'synthetic' });
    let prev = alloc(4 * 150528 * batch); // the input
    for (const l of shape) {
      const ws = l.ws ? alloc(Math.floor(2 ** (16 + u() * 8))) : -1;
      const out = alloc(l.row * batch);
      if (ws >= 0) free(ws);
      free(prev);
      prev = out;
    }
    free(prev);
  }
  return b.finish(`synthetic-${o.events}-seed${o.seed}`, { model: 'synthetic', seed: o.seed });
}
