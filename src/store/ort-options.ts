// Session options for the two ways to open a stored model. Both point ORT at
// the store's tensor folder, where every external initializer is a file
// named by its hash, so ORT memory-maps the shared tmpfs pages in place.
//
// fast-open: the original graph, no prepacking, no graph optimizations.
//   Measured (docs/ort-findings.md): every optimization level above
//   'disabled' rewrites some weights into private memory (constant folding,
//   NCHWc reordering), and prepacking copies every MatMul/Conv weight.
// fast-run: an ORT-optimized graph saved once with its prepacked weights as
//   external data (store/fast-run.ts); loaded at 'disabled' because it is
//   already optimized, with prepacking on so ORT picks up the stored blobs.
import type { InferenceSession } from 'onnxruntime-node';
import type { OpenMode } from './manifest.js';
import { WEIGHT_REWRITING_OPTIMIZERS, type FastOpenLevel } from './runtime-check.js';

export type SessionOptions = InferenceSession.SessionOptions;

type Extra = Record<string, Record<string, string>>;

/** `level` 'basic' is fast-open's fallback for graphs that do not load at 'disabled' (runtime-check.ts). */
export function storeSessionOptions(
  mode: OpenMode,
  tensorsDir: string,
  user: SessionOptions = {},
  level: FastOpenLevel = 'disabled',
): SessionOptions {
  const extra = (user.extra ?? {}) as Extra;
  const session: Record<string, string> = {
    ...(extra.session ?? {}),
    model_external_initializers_file_folder_path: tensorsDir,
  };
  if (mode === 'fast-open') session.disable_prepacking = '1';
  // Node's externalData option copies weights into private memory: drop it.
  const { externalData: _dropped, ...rest } = user;
  const options: SessionOptions = { ...rest, graphOptimizationLevel: level, extra: { ...extra, session } };
  if (level === 'basic') {
    const own = extra.optimization?.disable_specified_optimizers;
    options.extra = {
      ...options.extra,
      optimization: {
        ...(extra.optimization ?? {}),
        disable_specified_optimizers: [own, ...WEIGHT_REWRITING_OPTIMIZERS].filter(Boolean).join(';'),
      },
    };
  }
  // fast-open: with prepacking off, the memory pattern planner reserves a
  // buffer as large as all external initializers; it is never used.
  // fast-run (unless the caller asks): a memory pattern is one more block
  // per input shape that the CPU arena keeps beside the chunks it already
  // holds, while the arena reuses those chunks as well without it. Measured
  // once with a probe process on the BERT-base-shaped model (2026-12-02,
  // under load; the density suite reads one run only, where no pattern is
  // used yet): the arena held 6.4 MiB after 5 runs at batch 1 with a
  // pattern and 5.7 without (55 vs 52 MiB at batch 8), with run time
  // unchanged (paired ratio 0.99 at batch 1, 0.98 at batch 8). The arena
  // itself stays on: without it the same probe ran 1.11x slower at batch 1
  // (kernel scratch buffers mapped and unmapped at every run).
  if (mode === 'fast-open') options.enableMemPattern = false;
  else options.enableMemPattern = user.enableMemPattern ?? false;
  return options;
}
