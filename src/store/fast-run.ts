// Builds the fast-run variant of a model: ONNX Runtime optimizes the graph
// once (all levels) and saves it with prepacked weights as external data.
// We then re-lay that single data file as content-addressed tensor files:
// each holds the tensor's prepacked blobs followed by its original bytes
// (ORT re-packs those at every session creation to find the stored blob), so
// the `prepacked_N` offsets stay within one file as ORT requires. Tensors
// with no blobs come out byte-identical to the fast-open tensor files and so
// share them. Keyed by (model digest, ORT version, CPU target).
//
// A build never throws for something ONNX Runtime cannot do: the variant is
// then recorded as unavailable with the reason, and opens use fast-open. A
// variant ORT did build is used only once variant-check.ts has proved it the
// same model (interface, probe outputs, size).
import fs from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { TensorshareError } from '../errors.js';
import {
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  MODEL_GRAPH,
  onnxTypes,
  TO_OBJECT,
  type TensorHeader,
} from '../onnx/schema.js';
import { ForwardReader, bufferSource, editFields, encodeKey, lenField, WIRE_LEN } from '../onnx/wire.js';
import { storeSessionOptions } from './ort-options.js';
import { checkVariant } from './variant-check.js';
import { releasedOriginals } from './originals.js';
import { ortVersion } from '../ort-version.js';
import { cpuTarget } from './cpu-target.js';
import { fastRunKey, findFastRun } from './fast-run-key.js';
import { graphPath, tensorPath, variantPath, type Layout } from './layout.js';
import { withLock } from './lock.js';
import { VARIANT_FORMAT, type Manifest, type VariantManifest } from './manifest.js';
import { commitFile, createStaging, writeAtomic } from './staging.js';

// The key and the lookup live in fast-run-key.ts (no builder imports); re-exported for the builder's callers.
export { fastRunKey, findFastRun };

const BLOB_ALIGN = 64;
/** The original data starts on a page boundary, so cutting it off leaves whole blob pages. */
const ORIGINAL_ALIGN = 4096;

/**
 * Builds (or returns the existing) fast-run variant into the repository.
 * `store` must already hold the model (materialize first): ORT reads the
 * fast-open graph from there.
 */
export async function buildFastRun(
  repo: Layout,
  store: Layout,
  m: Manifest,
): Promise<{ variant: VariantManifest; built: boolean }> {
  const key = fastRunKey();
  const existing = await findFastRun(repo, m.digest, key);
  if (existing) return { variant: existing, built: false };
  const t0 = performance.now();
  const ort = (await import('onnxruntime-node')).default as unknown as typeof import('onnxruntime-node');
  const staging = await createStaging(repo);
  const base: Omit<VariantManifest, 'status' | 'graph' | 'tensors'> = {
    format: VARIANT_FORMAT,
    kind: 'fast-run',
    modelDigest: m.digest,
    ortVersion: ortVersion(),
    target: cpuTarget(),
    createdAt: new Date().toISOString(),
    buildMs: 0,
  };
  const publish = async (v: VariantManifest) => {
    v.buildMs = Math.round(performance.now() - t0);
    await writeAtomic(repo, variantPath(repo, m.digest, key), `${JSON.stringify(v, null, 2)}\n`);
    return { variant: v, built: true };
  };
  const unavailable = (reason: string): VariantManifest => ({
    ...base,
    status: 'unavailable',
    reason,
    graph: { sha256: '', bytes: 0 },
    tensors: [],
  });
  try {
    const optGraph = path.join(staging, 'optimized.onnx');
    const dataName = 'optimized.data';
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(graphPath(store, m.graph.sha256), {
        graphOptimizationLevel: 'all',
        intraOpNumThreads: 1,
        optimizedModelFilePath: optGraph,
        logSeverityLevel: 4, // ORT warns that NCHWc output is CPU specific: that is why variants are keyed by CPU target
        extra: {
          session: {
            model_external_initializers_file_folder_path: store.tensors,
            save_external_prepacked_constant_initializers: '1',
            optimized_model_external_initializers_file_name: dataName,
            optimized_model_external_initializers_min_size_in_bytes: '1024',
          },
        },
      });
    } catch (e) {
      return await withLock(repo, () =>
        publish(unavailable(`ONNX Runtime cannot optimize this model: ${(e as Error).message.slice(0, 500)}`)),
      );
    }
    try {
      const data = await fs.open(path.join(staging, dataName), 'r').catch(() => undefined);
      const files: RelaidTensor[] = [];
      let graph: Buffer;
      try {
        graph = await editFields(await fs.readFile(optGraph), optGraph, async (field, body) =>
          field !== MODEL_GRAPH
            ? undefined
            : dropInitializerInputs(
                await editFields(body, optGraph, async (f, tensor) =>
                  f !== GRAPH_INITIALIZER ? undefined : relayTensor(tensor, data, staging, files),
                ),
                optGraph,
              ),
        );
      } finally {
        await data?.close();
      }
      const graphSha = createHash('sha256').update(graph).digest('hex');
      const stagedGraph = path.join(staging, 'graph.onnx');
      await fs.writeFile(stagedGraph, graph);
      // Tensors whose originals ORT releases once the check session exists (originals.ts may trim those).
      let released = new Set<string>();
      const withOriginals = files
        .filter((f) => f.prepacked > 0)
        .map((f) => ({ sha256: f.sha256, bytes: f.bytes, cutAt: f.bytes - f.originalsTail }));
      const own = new Set(m.tensors.map((t) => t.sha256));
      const newBytes = [
        ...new Map(files.filter((f) => !own.has(f.sha256)).map((f) => [f.sha256, f.bytes])).values(),
      ].reduce((a, b) => a + b, graph.length);
      const modelBytes = m.tensors.reduce((a, t) => a + t.bytes, m.graph.bytes);
      return await withLock(repo, async () => {
        for (const f of files) await commitFile(f.staged, tensorPath(repo, f.sha256));
        await commitFile(stagedGraph, graphPath(repo, graphSha));
        const check = await checkVariant(
          ort,
          session,
          async () => {
            const s = await ort.InferenceSession.create(
              graphPath(repo, graphSha),
              storeSessionOptions('fast-run', repo.tensors, { logSeverityLevel: 4, intraOpNumThreads: 1 }),
            );
            released = releasedOriginals(repo.tensors, withOriginals);
            return s;
          },
          { modelBytes, variantNewBytes: newBytes },
        );
        const variant: VariantManifest = {
          ...base,
          status: 'ok',
          graph: { sha256: graphSha, bytes: graph.length },
          tensors: files.map(({ name, sha256, bytes, prepacked, originalsTail }) => ({
            name,
            sha256,
            bytes,
            prepacked,
            ...(released.has(sha256) ? { originalsTail } : {}),
          })),
        };
        return publish(check.problem ? unavailable(check.problem) : { ...variant, probe: check.probe });
      });
    } finally {
      await session.release();
    }
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/**
 * Drops graph inputs that name an initializer (as import does for the model):
 * ORT's saved model keeps such inputs after folding their initializer away,
 * which would make them required feeds.
 */
async function dropInitializerInputs(graph: Buffer, what: string): Promise<Buffer> {
  const { Graph } = onnxTypes();
  const g = Graph.toObject(Graph.decode(graph), { arrays: true }) as { initializer: { name?: string }[] };
  const inits = new Set(g.initializer.map((t) => t.name ?? ''));
  const { ValueInfo } = onnxTypes();
  const r = new ForwardReader(bufferSource(graph), graph.length, what);
  const parts: Buffer[] = [];
  for (let k = await r.key(graph.length); k; k = await r.key(graph.length)) {
    if (k.field === GRAPH_INPUT && k.wire === WIRE_LEN) {
      const body = await r.bytes(await r.length(graph.length));
      const name = (ValueInfo.decode(body) as unknown as { name?: string }).name ?? '';
      if (!inits.has(name)) parts.push(lenField(GRAPH_INPUT, body));
    } else {
      parts.push(encodeKey(k.field, k.wire), await r.rawValue(k.wire, graph.length));
    }
  }
  return Buffer.concat(parts);
}

interface RelaidTensor {
  staged: string;
  sha256: string;
  bytes: number;
  name: string;
  prepacked: number;
  /** Bytes at the file's end holding the original data (from a page boundary after the blobs). */
  originalsTail: number;
}

/** Moves one initializer's bytes (and prepacked blobs) out of ORT's data file into its own content-addressed file. */
async function relayTensor(
  tensorBytes: Buffer,
  data: fs.FileHandle | undefined,
  staging: string,
  files: RelaidTensor[],
): Promise<Buffer | undefined> {
  const { Tensor } = onnxTypes();
  const t = Tensor.toObject(Tensor.decode(tensorBytes), TO_OBJECT) as TensorHeader;
  if (t.dataLocation !== 1) return undefined;
  if (!data)
    throw new TensorshareError('ERR_INTERNAL', `ONNX Runtime wrote external tensor '${t.name}' but no data file`);
  const entries = new Map((t.externalData ?? []).map((e) => [e.key, e.value]));
  const read = async (offset: number, length: number) => {
    const b = Buffer.alloc(length);
    await data.read(b, 0, length, offset);
    return b;
  };
  const original = await read(Number(entries.get('offset') ?? 0), Number(entries.get('length')));
  // Blobs first, the original last on a page of its own: ORT reads the original only while it
  // creates a session, so the store can cut it off the file's end between creations
  // (originals.ts) -- a cut file fails loudly (ORT refuses an initializer beyond the file's end).
  const parts: Buffer[] = [];
  let size = 0;
  const newEntries: { key: string; value: string }[] = [];
  let prepacked = 0;
  for (const [k, v] of entries) {
    if (!k.startsWith('prepacked_')) continue;
    // "<kernel>+<hash>|<offset>;<length>;<align>"
    const m = /^(.*)\|(\d+);(\d+);(\d+)$/.exec(v);
    if (!m) throw new TensorshareError('ERR_INTERNAL', `unrecognized prepacked entry '${k}=${v}' on '${t.name}'`);
    const pad = (BLOB_ALIGN - (size % BLOB_ALIGN)) % BLOB_ALIGN;
    parts.push(Buffer.alloc(pad));
    size += pad;
    parts.push(await read(Number(m[2]), Number(m[3])));
    newEntries.push({ key: k, value: `${m[1]}|${size};${m[3]};${m[4]}` });
    size += Number(m[3]);
    prepacked++;
  }
  const pad = prepacked ? (ORIGINAL_ALIGN - (size % ORIGINAL_ALIGN)) % ORIGINAL_ALIGN : 0;
  parts.push(Buffer.alloc(pad));
  const originalAt = size + pad;
  parts.push(original);
  const content = Buffer.concat(parts);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const staged = path.join(staging, `v${files.length}`);
  await fs.writeFile(staged, content);
  files.push({
    staged,
    sha256,
    bytes: content.length,
    name: t.name ?? '',
    prepacked,
    originalsTail: content.length - originalAt,
  });
  return Buffer.from(
    Tensor.encode(
      Tensor.fromObject({
        ...t,
        externalData: [
          { key: 'location', value: sha256 },
          { key: 'offset', value: String(originalAt) },
          { key: 'length', value: entries.get('length') },
          ...newEntries,
        ],
      }),
    ).finish(),
  );
}
