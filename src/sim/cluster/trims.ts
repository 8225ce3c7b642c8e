// The TrIMS sharing-benefit estimate (Dakkak et al., "TrIMS: Transparent and
// Isolated Model Sharing for Low Latency Deep Learning Inference in Function
// as a Service", 2019): for a model of b bytes in n shared objects,
//   rho = b/q - n*(o + s)
// q: storage bandwidth (what a private load reads), o: per-object sharing
// overhead (finding and opening a shared object), s: per-object mapping
// overhead (mapping it into the process). q (as the copy into the store, and
// as a plain read), o and s are measured on this
// machine (`tensorshare sim trims`); the measured benefit comes from the
// cold-start benchmark (docs/bench/results.json): a plain ONNX Runtime open
// against a tensorshare open of the resident model, and a not-resident open
// (copy from the repository first) against the resident one.
import { TensorshareError } from '../../errors.js';

export interface TrimsMeasurement {
  /** Bytes per ms copying a repository file into the store (what a start without sharing waits for). */
  storageBytesPerMs: number;
  /** Bytes per ms reading a repository file into process memory (a plain private load's read alone). */
  readBytesPerMs: number;
  /** ms per object: open + fstat + close of a store file. */
  shareMsPerObject: number;
  /** ms per object: mmap + first-page touch + munmap. */
  mapMsPerObject: number;
  /** What was measured, for the report. */
  detail: string;
}

export interface TrimsRow {
  model: string;
  bytes: number;
  objects: number;
  /** b/q */
  loadMs: number;
  /** n*(o+s) */
  sharingMs: number;
  /** rho */
  predictedMs: number;
  /** rho with q = the plain read bandwidth. */
  predictedReadMs: number;
  /** openMs plain ORT (page cache warm) - openMs tensorshare fast-open, resident (medians). */
  measuredVsPlainMs: number | null;
  /** openMs fast-open not resident (copied from the repository) - openMs resident (medians). */
  measuredVsRepositoryMs: number | null;
}

type Json = Record<string, unknown>;

export function trimsPredict(
  bytes: number,
  objects: number,
  m: TrimsMeasurement,
): {
  loadMs: number;
  sharingMs: number;
  predictedMs: number;
} {
  const loadMs = bytes / m.storageBytesPerMs;
  const sharingMs = objects * (m.shareMsPerObject + m.mapMsPerObject);
  return { loadMs, sharingMs, predictedMs: loadMs - sharingMs };
}

/** One row per model of a parsed docs/bench/results.json. */
export function trimsRows(results: unknown, m: TrimsMeasurement): TrimsRow[] {
  const r = results as Json;
  if (r?.format !== 'tensorshare.bench/v1')
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `benchmark results: format is ${String(r?.format)}`);
  const models = (r.models as Json[] | undefined) ?? [];
  const scenarios = ((r.coldStart as Json | undefined)?.scenarios as Json[] | undefined) ?? [];
  const openP50 = (model: string, id: string): number | null => {
    const s = scenarios.find((x) => x.model === model && x.id === id);
    const v = (s?.openMs as Json | undefined)?.p50;
    return typeof v === 'number' ? v : null;
  };
  const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
  return models.map((x) => {
    const model = String(x.id);
    const bytes = Number(x.weightBytes);
    const objects = Number(x.tensors);
    const resident = openP50(model, 'ts-fast-open');
    return {
      model,
      bytes,
      objects,
      ...trimsPredict(bytes, objects, m),
      predictedReadMs: trimsPredict(bytes, objects, { ...m, storageBytesPerMs: m.readBytesPerMs }).predictedMs,
      measuredVsPlainMs: diff(openP50(model, 'plain-warm'), resident),
      measuredVsRepositoryMs: diff(openP50(model, 'ts-repo-fast-open'), resident),
    };
  });
}
