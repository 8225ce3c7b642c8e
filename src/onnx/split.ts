// Splits an ONNX model into a small graph and content-addressed tensors, in
// one forward pass over the file (see wire.ts). Large initializers -- raw_data,
// typed *_data fields or external data -- are streamed to sinks and replaced
// in the graph by external-data references named by their SHA-256; the rest
// of the model is copied byte-for-byte. A sink that can copy a byte range of
// the file itself (copyRange: a worker thread reads, hashes and writes it) is
// handed the range instead, and this thread never reads those bytes; the
// file's identity (source-digest.ts) comes from the same pass.
import { createHash, randomBytes } from 'node:crypto';
import type protobuf from 'protobufjs';
import type { FileHandle } from 'node:fs/promises';
import { TensorshareError } from '../errors.js';
import { dtypeInfo, elementCount, rawByteLength, STRING_DTYPE } from './dtypes.js';
import { openRegularFile, resolveExternalPath } from './external-path.js';
import {
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  MODEL_GRAPH,
  onnxTypes,
  TO_OBJECT,
  type TensorHeader,
  type ValueInfo,
} from './schema.js';
import { propagatesData, readsAsData } from './shape-inputs.js';
import { RANGE_MIN, SourceDigest } from './source-digest.js';
import { ForwardReader, bufferSource, editFields, lenField, encodeKey, memorySource, WIRE_LEN } from './wire.js';

const GRAPH_NODE = 1;
const TENSOR_RAW_DATA = 9;
const TENSOR_STRING_DATA = 6;
const TENSOR_TYPED_DATA = new Set([4, 5, 7, 10, 11]); // float, int32, int64, double, uint64
const EXTERNAL = 1;

/** Where one tensor's bytes go: the store supplies it (hash + temp file). */
/** Model files up to this size are read whole, once (see splitModel). */
export const WHOLE_READ_BYTES = 16 * 2 ** 20;

export interface TensorSink {
  /** `stable`: nobody changes `chunk` afterwards (a view of a model read whole), so it may be kept without a copy. */
  write(chunk: Buffer, stable?: boolean): Promise<void>;
  /**
   * Instead of write(): the tensor is `length` bytes of `source` at `offset`.
   * May return before they are copied; finish()'s sha256 is then a promise
   * that settles once they are. `source` stays open until it settles.
   */
  copyRange?(source: FileHandle, offset: number, length: number): Promise<void>;
  /**
   * Finishes the write; returns the SHA-256 (hex) of all bytes written, or a
   * promise of it (hashed elsewhere while the split goes on).
   */
  finish(): Promise<{ sha256: string | Promise<string>; bytes: number }>;
  abort(): Promise<void>;
  /** The bytes written, after finish(): a tensor that must stay in the graph is read back (see shape-inputs.ts). */
  readBack(): Promise<Buffer>;
}

export interface SplitTensor<S extends TensorSink = TensorSink> {
  name: string;
  dataType: number;
  dims: number[];
  bytes: number;
  sha256: string;
  sink: S;
}

export interface SplitResult<S extends TensorSink = TensorSink> {
  /** The rewritten ModelProto: every large initializer is external, named by hash. */
  graph: Buffer;
  /** `digest`: the file's identity (source-digest.ts), from the same pass; `sha256`: the whole file's, when asked (SplitOptions.whole). */
  source: { digest: string; sha256?: string; bytes: number; externalFiles: string[] };
  tensors: SplitTensor<S>[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  /** Bytes of initializer data left inside the graph (below the size threshold, or strings). */
  embeddedBytes: number;
}

export interface SplitOptions<S extends TensorSink> {
  newSink: () => Promise<S>;
  /**
   * A second reading of the whole file, run while the split goes on (its
   * SHA-256, for a caller that names files by it); the file stays open until
   * it settles. Its result is `source.sha256`.
   */
  whole?: (source: FileHandle, size: number) => Promise<string>;
  /** Initializers smaller than this stay embedded in the graph. */
  minExternalBytes?: number;
  onProgress?: (bytesRead: number, total: number) => void;
}

export async function splitModel<S extends TensorSink>(
  file: string,
  options: SplitOptions<S>,
): Promise<SplitResult<S>> {
  // Never below 1: ONNX Runtime crashes releasing a session with an empty tensor as external data.
  const minExternal = Math.max(1, options.minExternalBytes ?? 1024);
  let fh: FileHandle;
  try {
    fh = await openRegularFile(file, `${file}:`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: no such file`, { file });
    if (code === 'EISDIR')
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: is a folder, expected an .onnx file`, { file });
    throw e;
  }
  const externals = new Map<string, FileHandle>();
  const tensors: SplitTensor<S>[] = [];
  // Copies handed to sinks: every one settles before the files they read are closed.
  const copies: Promise<unknown>[] = [];
  try {
    const st = await fh.stat();
    if (st.isDirectory())
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: is a folder, expected an .onnx file`, { file });
    const size = st.size;
    if (size === 0) throw new TensorshareError('ERR_INVALID_MODEL', `${file}: empty file, not an ONNX model`, { file });
    const whole = options.whole?.(fh, size);
    whole?.catch(() => {}); // awaited below; never, if the split fails first
    if (whole) copies.push(whole);
    const digest = new SourceDigest();
    let read = 0;
    const progress = (n: number) => {
      read += n;
      options.onProgress?.(read, size);
    };
    // A small model is read once, whole: the reader and its tensors' ranges are views of one buffer
    // (a read and a buffer per range made a thousand small imports' garbage).
    const inMemory =
      size <= WHOLE_READ_BYTES
        ? await readRange(
            fh,
            0,
            size,
            () =>
              new TensorshareError(
                'ERR_INVALID_MODEL',
                `${file}: the file ended early (changed while being imported?)`,
                { file },
              ),
          )
        : undefined;
    const r = new ForwardReader(inMemory ? memorySource(inMemory) : fh, size, file, (offset, chunk) => {
      digest.literal(offset, chunk);
      progress(chunk.length);
    });
    const ctx: Ctx<S> = {
      file,
      r,
      source: fh,
      ...(inMemory && { whole: inMemory }),
      digest,
      copies,
      progress,
      minExternal,
      newSink: options.newSink,
      externals,
      tensors,
      embedded: { bytes: 0 },
      dataInputs: new Set(),
      dataSources: new Map(),
      top: true,
      hashing: new Map(),
    };

    const topParts: Buffer[] = []; // every top-level field except the graph, verbatim
    let graph: Buffer | undefined;
    for (let k = await r.key(size); k; k = await r.key(size)) {
      if (k.field === MODEL_GRAPH && k.wire === WIRE_LEN) {
        if (graph) throw r.malformed('more than one graph field');
        const n = await r.length(size);
        graph = await rewriteGraph(ctx, r.pos + n);
      } else {
        topParts.push(encodeKey(k.field, k.wire), await r.rawValue(k.wire, size));
      }
    }
    if (!graph)
      throw new TensorshareError('ERR_INVALID_MODEL', `${file}: not an ONNX model (no graph found)`, { file });
    r.flush();

    const { Model, Graph } = onnxTypes();
    const top = Buffer.concat(topParts);
    const model = decodeOrThrow(() => Model.toObject(Model.decode(top), TO_OBJECT), file, 'model header') as {
      irVersion?: number;
      opsetImport?: { domain?: string; version?: number }[];
      producerName?: string;
    };
    if (!model.irVersion || !model.opsetImport?.length) {
      throw new TensorshareError(
        'ERR_INVALID_MODEL',
        `${file}: not an ONNX model (missing ir_version or opset_import)`,
        { file },
      );
    }
    const g = decodeOrThrow(() => Graph.toObject(Graph.decode(graph!), TO_OBJECT), file, 'graph') as {
      input?: ValueInfo[];
      output?: ValueInfo[];
      initializer?: TensorHeader[];
    };
    const rewritten = await resolveHashes(ctx, Buffer.concat([top, lenField(MODEL_GRAPH, graph)]));
    return {
      graph: rewritten,
      source: {
        digest: await digest.digest(size),
        ...(whole && { sha256: await whole }),
        bytes: size,
        externalFiles: [...externals.keys()],
      },
      tensors,
      inputs: g.input ?? [],
      outputs: g.output ?? [],
      irVersion: model.irVersion,
      opsets: model.opsetImport.map((o) => ({ domain: o.domain ?? '', version: o.version ?? 0 })),
      producer: model.producerName ?? '',
      embeddedBytes: ctx.embedded.bytes,
    };
  } catch (e) {
    await Promise.all(tensors.map((t) => t.sink.abort()));
    throw e;
  } finally {
    await Promise.allSettled(copies);
    await fh.close();
    await Promise.all([...externals.values()].map((h) => h.close()));
  }
}

interface Ctx<S extends TensorSink> {
  file: string;
  r: ForwardReader;
  /** The model file, when `r` reads it (not a subgraph held in memory): large raw_data is then a range of it. */
  source?: FileHandle;
  /** The whole model file, read at once when it is small (WHOLE_READ_BYTES): ranges of `source` are views of it. */
  whole?: Buffer;
  digest: SourceDigest;
  copies: Promise<unknown>[];
  /** Counts bytes of the model file done (onProgress). */
  progress: (bytes: number) => void;
  minExternal: number;
  newSink: () => Promise<S>;
  externals: Map<string, FileHandle>;
  tensors: SplitTensor<S>[];
  embedded: { bytes: number };
  /** Names that some node (at any depth so far) reads as data during shape inference: kept in the graph. */
  dataInputs: Set<string>;
  /** For outputs of nodes that compute values shape inference follows (propagatesData): their inputs. */
  dataSources: Map<string, readonly string[]>;
  /** The main graph (not an If/Loop/Scan body). */
  top: boolean;
  /** Hashes still being computed, by tensor: the graph names such a tensor by a random placeholder until then. */
  hashing: Map<SplitTensor<S>, Promise<string>>;
}

function decodeOrThrow<T>(fn: () => T, file: string, what: string): T {
  try {
    return fn();
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_MODEL',
      `${file}: malformed ONNX ${what}: ${(e as Error).message}`,
      { file },
      { cause: e },
    );
  }
}

/**
 * Rewrites one graph. Two normalizations happen here besides moving tensors out:
 * - In the main graph, inputs that name an initializer are dropped. IR 3 models
 *   list every initializer among the inputs; ONNX Runtime does not report them
 *   as inputs (session.inputNames leaves them out), and when it saves an
 *   optimized model it keeps such inputs after folding their initializers away,
 *   which turns them into required feeds. Dropping them keeps the interface
 *   ORT reports, and the weights stay shared (a feed can no longer override one).
 * - Tensors that shape inference reads as data (shape-inputs.ts) stay inside
 *   the graph whatever their size: ORT refuses them as external data. A node may
 *   come after the initializer or Constant it reads, so those already moved out
 *   are put back once the whole graph has been seen.
 */
async function rewriteGraph<S extends TensorSink>(ctx: Ctx<S>, end: number): Promise<Buffer> {
  const { r } = ctx;
  const parts: Buffer[] = [];
  const inputs: { index: number; name: string }[] = [];
  const initNames = new Set<string>();
  const moved: { index: number; tensor: SplitTensor<S>; header: TensorHeader }[] = [];
  const inner = { ...ctx, top: false };
  const note = (before: number, index: number, header: TensorHeader | undefined) => {
    if (!header) return;
    initNames.add(header.name ?? '');
    if (ctx.tensors.length > before) moved.push({ index, tensor: ctx.tensors.at(-1)!, header });
  };
  for (let k = await r.key(end); k; k = await r.key(end)) {
    if (k.field === GRAPH_INITIALIZER && k.wire === WIRE_LEN) {
      const n = await r.length(end);
      const before = ctx.tensors.length;
      const { body, header } = await rewriteInitializer(ctx, r.pos + n);
      parts.push(lenField(GRAPH_INITIALIZER, body));
      note(before, parts.length - 1, header);
    } else if (k.field === GRAPH_NODE && k.wire === WIRE_LEN) {
      const n = await r.length(end);
      const node = await r.bytes(n);
      noteDataInputs(ctx, node);
      const before = ctx.tensors.length;
      const init = await constantToInitializer(ctx, node);
      parts.push(
        init ? lenField(GRAPH_INITIALIZER, init.body) : lenField(GRAPH_NODE, await rewriteSubgraphs(inner, node)),
      );
      note(before, parts.length - 1, init?.header);
    } else if (k.field === GRAPH_INPUT && k.wire === WIRE_LEN && ctx.top) {
      const body = await r.rawValue(k.wire, end);
      parts.push(encodeKey(k.field, k.wire), body);
      inputs.push({ index: parts.length - 1, name: valueInfoName(ctx, body) });
    } else {
      parts.push(encodeKey(k.field, k.wire), await r.rawValue(k.wire, end));
    }
  }
  if (ctx.top) closeDataInputs(ctx);
  for (const m of moved) {
    if (!ctx.dataInputs.has(m.tensor.name)) continue;
    parts[m.index] = lenField(GRAPH_INITIALIZER, await inlineTensor(m.header, await m.tensor.sink.readBack()));
    ctx.embedded.bytes += m.tensor.bytes;
    ctx.tensors.splice(ctx.tensors.indexOf(m.tensor), 1);
    await m.tensor.sink.abort();
  }
  for (const i of inputs) {
    if (initNames.has(i.name)) {
      parts[i.index - 1] = Buffer.alloc(0);
      parts[i.index] = Buffer.alloc(0);
    }
  }
  return Buffer.concat(parts);
}

/** Records the inputs of a node that shape inference reads as data. */
function noteDataInputs<S extends TensorSink>(ctx: Ctx<S>, nodeBytes: Buffer): void {
  const { Node } = onnxTypes();
  const node = decodeOrThrow(() => Node.decode(nodeBytes), ctx.file, 'node') as unknown as {
    opType?: string;
    domain?: string;
    input?: string[];
    output?: string[];
  };
  for (const name of readsAsData(node.domain ?? '', node.opType ?? '', node.input ?? [])) ctx.dataInputs.add(name);
  if (propagatesData(node.domain ?? '', node.opType ?? '')) {
    for (const out of node.output ?? []) ctx.dataSources.set(out, node.input ?? []);
  }
}

/**
 * ONNX Runtime's optimizer also reads a tensor that reaches a data input
 * through nodes whose values shape inference computes (a Reshape shape built
 * by Concat of Unsqueezed constants, as exporters write it): walk back from
 * every data input and keep what it reaches in the graph too. Without this a
 * fast-run build at a small threshold fails with "Cannot parse data from
 * external tensors" (transformers' BERT, torchvision's SSDlite, a decoder LM).
 */
function closeDataInputs<S extends TensorSink>(ctx: Ctx<S>): void {
  const todo = [...ctx.dataInputs];
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    for (const source of ctx.dataSources.get(name) ?? []) {
      if (source === '' || ctx.dataInputs.has(source)) continue;
      ctx.dataInputs.add(source);
      todo.push(source);
    }
  }
}

/** The name of a graph input, given its field value as rawValue returns it (length prefix, then the message). */
function valueInfoName<S extends TensorSink>(ctx: Ctx<S>, lengthPrefixed: Buffer): string {
  const { ValueInfo } = onnxTypes();
  let i = 0;
  while (lengthPrefixed[i]! & 0x80) i++;
  const body = lengthPrefixed.subarray(i + 1);
  const v = decodeOrThrow(() => ValueInfo.decode(body), ctx.file, 'graph input') as unknown as { name?: string };
  return v.name ?? '';
}

/** A TensorProto with its data inline as raw_data. */
function inlineTensor(h: TensorHeader, raw: Buffer): Buffer {
  const { Tensor } = onnxTypes();
  return Buffer.from(
    Tensor.encode(
      Tensor.fromObject({
        name: h.name,
        dims: h.dims,
        dataType: h.dataType,
        docString: h.docString,
        metadataProps: h.metadataProps,
        rawData: raw,
      }),
    ).finish(),
  );
}

/** Returns the TensorProto bytes to put in the new graph. */
async function rewriteInitializer<S extends TensorSink>(
  ctx: Ctx<S>,
  end: number,
): Promise<{ body: Buffer; header: TensorHeader }> {
  const { r, file } = ctx;
  const start = r.pos;
  const header: Buffer[] = []; // non-data fields, verbatim
  const typed: Buffer[] = []; // typed data fields, verbatim (decoded below if large)
  let raw: Buffer | undefined; // small raw_data, kept in memory
  let streamed: { sink: S; bytes: number; finished?: Finished } | undefined; // large raw_data
  let hasStrings = false;

  for (let k = await r.key(end); k; k = await r.key(end)) {
    if (k.field === TENSOR_RAW_DATA && k.wire === WIRE_LEN) {
      const n = await r.length(end);
      if (streamed) await streamed.sink.abort();
      streamed = undefined;
      if (ctx.source && n >= RANGE_MIN) {
        // A segment of its own in the source digest, hashed by whoever reads it.
        const offset = r.skip(n);
        if (n >= ctx.minExternal) {
          const sink = await ctx.newSink();
          const finished = await copyRangeTo(ctx, sink, ctx.source, offset, n, (why) => r.malformed(why));
          ctx.digest.range(offset, n, finished.sha256);
          streamed = { sink, bytes: n, finished };
          raw = undefined;
        } else {
          raw = ctx.whole
            ? Buffer.from(ctx.whole.subarray(offset, offset + n))
            : await readRange(ctx.source, offset, n, () => r.malformed('file ended early'));
          ctx.digest.range(offset, n, createHash('sha256').update(raw).digest('hex'));
          ctx.progress(n);
        }
      } else if (n >= ctx.minExternal) {
        const sink = await ctx.newSink();
        streamed = { sink, bytes: n };
        try {
          await r.pipe(n, (c) => sink.write(c));
        } catch (e) {
          await sink.abort();
          throw e;
        }
        raw = undefined;
      } else {
        raw = await r.bytes(n);
      }
    } else if (TENSOR_TYPED_DATA.has(k.field)) {
      typed.push(encodeKey(k.field, k.wire), await r.rawValue(k.wire, end));
    } else {
      if (k.field === TENSOR_STRING_DATA) hasStrings = true;
      header.push(encodeKey(k.field, k.wire), await r.rawValue(k.wire, end));
    }
  }

  const { Tensor } = onnxTypes();
  const h = decodeOrThrow(
    () => Tensor.toObject(Tensor.decode(Buffer.concat(header)), TO_OBJECT),
    file,
    `initializer at byte ${start}`,
  ) as TensorHeader;
  const name = h.name ?? '';
  const dims = h.dims ?? [];
  const dataType = h.dataType ?? 0;
  const info = dtypeInfo(dataType);
  const fail = (code: 'ERR_INVALID_MODEL' | 'ERR_UNSUPPORTED_DTYPE', why: string) =>
    new TensorshareError(code, `${file}: initializer '${name}' ${why}`, { file, tensor: name });
  const abortStreamed = async () => {
    if (streamed) await streamed.sink.abort();
  };

  if (!info) {
    await abortStreamed();
    throw fail('ERR_UNSUPPORTED_DTYPE', `has unsupported data type ${dataType}`);
  }
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    await abortStreamed();
    throw fail('ERR_INVALID_MODEL', `has invalid dims [${dims.join(', ')}]`);
  }
  const expected = rawByteLength(info, elementCount(dims));
  const keepVerbatim = async (): Promise<Buffer> => {
    const body = Buffer.concat([...header, ...typed, ...(raw ? [lenField(TENSOR_RAW_DATA, raw)] : [])]);
    ctx.embedded.bytes += raw?.length ?? 0;
    return body;
  };

  if (dataType === STRING_DTYPE || hasStrings) {
    await abortStreamed();
    return { body: await keepVerbatim(), header: h }; // strings cannot be external data
  }

  if (h.dataLocation === EXTERNAL) {
    if (streamed || raw || typed.length)
      throw fail('ERR_INVALID_MODEL', 'is marked external but also carries inline data');
    const { sink, finished } = await copyExternal(ctx, h, expected);
    return { body: await externalize(ctx, h, expected, sink, finished), header: h };
  }

  if (streamed) {
    if (streamed.bytes !== expected) {
      await abortStreamed();
      throw fail(
        'ERR_INVALID_MODEL',
        `has ${streamed.bytes} bytes of raw_data but dims [${dims.join(', ')}] of ${info.name} need ${expected}`,
      );
    }
    return { body: await externalize(ctx, h, expected, streamed.sink, streamed.finished), header: h };
  }
  if (raw) {
    if (raw.length !== expected)
      throw fail(
        'ERR_INVALID_MODEL',
        `has ${raw.length} bytes of raw_data but dims [${dims.join(', ')}] of ${info.name} need ${expected}`,
      );
    return { body: await keepVerbatim(), header: h };
  }
  if (typed.length && expected >= ctx.minExternal) {
    const bytes = typedToRaw(Buffer.concat([...header, ...typed]), dataType, expected, fail);
    const sink = await ctx.newSink();
    await sink.write(bytes);
    return { body: await externalize(ctx, h, expected, sink), header: h };
  }
  return { body: await keepVerbatim(), header: h };
}

type Finished = Awaited<ReturnType<TensorSink['finish']>>;

/**
 * Copies a range of `source` into `sink` (on the sink's own thread where it
 * can, else read here) and finishes it. A range copied elsewhere counts
 * toward progress once copied; a file that turns out shorter than it said is
 * the model's fault.
 */
async function copyRangeTo<S extends TensorSink>(
  ctx: Ctx<S>,
  sink: S,
  source: FileHandle,
  offset: number,
  length: number,
  short: (why: string) => Error,
): Promise<Finished> {
  let finished: Finished;
  try {
    const view = source === ctx.source ? ctx.whole?.subarray(offset, offset + length) : undefined;
    if (view) {
      if (view.length < length) throw short('file ended early');
      await sink.write(view, true);
    } else if (sink.copyRange) await sink.copyRange(source, offset, length);
    else {
      const buf = Buffer.allocUnsafe(Math.min(4 << 20, Math.max(length, 1)));
      for (let pos = 0; pos < length; ) {
        const { bytesRead } = await source.read(buf, 0, Math.min(buf.length, length - pos), offset + pos);
        if (bytesRead === 0) throw short('file ended early');
        await sink.write(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
    }
    finished = await sink.finish();
  } catch (e) {
    await sink.abort();
    throw e;
  }
  if (typeof finished.sha256 === 'string') {
    if (source === ctx.source) ctx.progress(length);
    return finished;
  }
  const sha256 = finished.sha256.then(
    (hex) => {
      if (source === ctx.source) ctx.progress(length);
      return hex;
    },
    (e: NodeJS.ErrnoException) => {
      throw e?.code === 'ERR_SOURCE_SHORT' ? short('file ended early (changed while being imported?)') : e;
    },
  );
  sha256.catch(() => {}); // observed by whoever awaits it; never, if the split fails first
  ctx.copies.push(sha256);
  return { ...finished, sha256 };
}

/** `length` bytes of `source` at `offset`, in memory. */
async function readRange(source: FileHandle, offset: number, length: number, short: () => Error): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  for (let pos = 0; pos < length; ) {
    const { bytesRead } = await source.read(out, pos, length - pos, offset + pos);
    if (bytesRead === 0) throw short();
    pos += bytesRead;
  }
  return out;
}

async function externalize<S extends TensorSink>(
  ctx: Ctx<S>,
  h: TensorHeader,
  expected: number,
  sink: S,
  done?: Finished,
): Promise<Buffer> {
  const finished = done ?? (await sink.finish());
  const { bytes } = finished;
  // A hash computed elsewhere: a placeholder of the same length now, replaced once known (resolveHashes).
  const sha256 = typeof finished.sha256 === 'string' ? finished.sha256 : randomBytes(32).toString('hex');
  if (bytes !== expected) {
    throw new TensorshareError(
      'ERR_INVALID_MODEL',
      `${ctx.file}: initializer '${h.name}' has ${bytes} bytes of data, its dims need ${expected}`,
      { file: ctx.file, tensor: h.name },
    );
  }
  const tensor = { name: h.name ?? '', dataType: h.dataType ?? 0, dims: h.dims ?? [], bytes, sha256, sink };
  ctx.tensors.push(tensor);
  if (typeof finished.sha256 !== 'string') {
    finished.sha256.catch(() => {}); // a tensor inlined after all, or a split that fails, never asks for it
    ctx.hashing.set(tensor, finished.sha256);
  }
  const { Tensor } = onnxTypes();
  return Buffer.from(
    Tensor.encode(
      Tensor.fromObject({
        name: h.name,
        dims: h.dims,
        dataType: h.dataType,
        docString: h.docString,
        metadataProps: h.metadataProps,
        dataLocation: EXTERNAL,
        externalData: [
          { key: 'location', value: sha256 },
          { key: 'offset', value: '0' },
          { key: 'length', value: String(bytes) },
        ],
      }),
    ).finish(),
  );
}

/** Waits for the hashes computed elsewhere and puts each in place of its placeholder (same length: no field sizes change). */
async function resolveHashes<S extends TensorSink>(ctx: Ctx<S>, graph: Buffer): Promise<Buffer> {
  for (const t of ctx.tensors) {
    const pending = ctx.hashing.get(t);
    if (!pending) continue;
    const real = await pending;
    const at = graph.indexOf(t.sha256, 0, 'latin1');
    if (at < 0) throw new TensorshareError('ERR_INTERNAL', `placeholder of tensor '${t.name}' missing from the graph`);
    graph.write(real, at, 'latin1');
    t.sha256 = real;
  }
  return graph;
}

async function copyExternal<S extends TensorSink>(
  ctx: Ctx<S>,
  h: TensorHeader,
  expected: number,
): Promise<{ sink: S; finished: Finished }> {
  const entries = new Map((h.externalData ?? []).map((e) => [e.key, e.value]));
  const name = h.name ?? '';
  const location = entries.get('location');
  const bad = (why: string) =>
    new TensorshareError('ERR_INVALID_MODEL', `${ctx.file}: initializer '${name}' ${why}`, {
      file: ctx.file,
      tensor: name,
    });
  if (!location) throw bad('is external but names no location');
  const real = await resolveExternalPath(ctx.file, location, name);
  let fh = ctx.externals.get(location);
  if (!fh) {
    fh = await openRegularFile(real, `${ctx.file}: tensor '${name}' has external data file '${location}', which`, {
      tensor: name,
      location,
    });
    ctx.externals.set(location, fh);
  }
  const offset = Number(entries.get('offset') ?? '0');
  const length = entries.has('length') ? Number(entries.get('length')) : expected;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0)
    throw bad(`has invalid external offset/length '${entries.get('offset')}'/'${entries.get('length')}'`);
  if (length !== expected) throw bad(`has external length ${length} but its dims need ${expected} bytes`);
  const fileSize = (await fh.stat()).size;
  if (offset + length > fileSize)
    throw bad(`needs bytes ${offset}..${offset + length} of '${location}', which has only ${fileSize} (truncated?)`);
  const sink = await ctx.newSink();
  return {
    sink,
    finished: await copyRangeTo(ctx, sink, fh, offset, length, () => bad(`external file '${location}' ended early`)),
  };
}

/** Converts a tensor stored in typed fields (float_data, int32_data, ...) to its raw little-endian bytes. */
function typedToRaw(
  message: Buffer,
  dataType: number,
  expected: number,
  fail: (c: 'ERR_INVALID_MODEL' | 'ERR_UNSUPPORTED_DTYPE', why: string) => Error,
): Buffer {
  const { Tensor } = onnxTypes();
  const t = Tensor.toObject(Tensor.decode(message), { longs: String, arrays: true }) as {
    floatData: number[];
    int32Data: number[];
    int64Data: string[];
    doubleData: number[];
    uint64Data: string[];
  };
  const out = Buffer.alloc(expected);
  const writeEach = <T>(values: readonly T[], write: (v: T, i: number) => unknown) => {
    for (let i = 0; i < values.length; i++) write(values[i]!, i);
  };
  const count = (n: number, per: number) => {
    if (n * per !== expected) throw fail('ERR_INVALID_MODEL', `has ${n} typed values, its dims need ${expected / per}`);
  };
  switch (dataType) {
    case 1:
      count(t.floatData.length, 4);
      writeEach(t.floatData, (v, i) => out.writeFloatLE(v, i * 4));
      break;
    case 14:
      count(t.floatData.length, 4);
      writeEach(t.floatData, (v, i) => out.writeFloatLE(v, i * 4));
      break;
    case 11:
    case 15:
      count(t.doubleData.length, 8);
      writeEach(t.doubleData, (v, i) => out.writeDoubleLE(v, i * 8));
      break;
    case 7:
      count(t.int64Data.length, 8);
      writeEach(t.int64Data, (v, i) => out.writeBigInt64LE(BigInt(v), i * 8));
      break;
    case 12:
      count(t.uint64Data.length, 4);
      writeEach(t.uint64Data, (v, i) => out.writeUInt32LE(Number(v), i * 4));
      break;
    case 13:
      count(t.uint64Data.length, 8);
      writeEach(t.uint64Data, (v, i) => out.writeBigUInt64LE(BigInt(v), i * 8));
      break;
    case 6:
      count(t.int32Data.length, 4);
      writeEach(t.int32Data, (v, i) => out.writeInt32LE(v, i * 4));
      break;
    case 5:
      count(t.int32Data.length, 2);
      writeEach(t.int32Data, (v, i) => out.writeInt16LE(v, i * 2));
      break;
    case 4:
    case 10:
    case 16:
      count(t.int32Data.length, 2);
      writeEach(t.int32Data, (v, i) => out.writeUInt16LE(v & 0xffff, i * 2));
      break;
    case 3:
      count(t.int32Data.length, 1);
      writeEach(t.int32Data, (v, i) => out.writeInt8(v, i));
      break;
    case 2:
    case 9:
    case 17:
    case 18:
    case 19:
    case 20:
      count(t.int32Data.length, 1);
      writeEach(t.int32Data, (v, i) => out.writeUInt8(v & 0xff, i));
      break;
    default:
      throw fail(
        'ERR_UNSUPPORTED_DTYPE',
        `stores data type ${dataType} in typed fields, which tensorshare cannot convert (use raw_data)`,
      );
  }
  return out;
}

/**
 * Exporters such as paddle2onnx keep weights in Constant nodes rather than
 * initializers. ONNX Runtime turns those into initializers anyway, so doing it
 * here changes nothing in the computation and lets the weights be shared.
 * Returns the initializer bytes, or undefined to keep the node as it is.
 */
async function constantToInitializer<S extends TensorSink>(
  ctx: Ctx<S>,
  nodeBytes: Buffer,
): Promise<{ body: Buffer; header: TensorHeader } | undefined> {
  const { Node, Tensor } = onnxTypes();
  const node = decodeOrThrow(() => Node.decode(nodeBytes), ctx.file, 'node') as unknown as {
    opType?: string;
    domain?: string;
    output?: string[];
    attribute?: { name?: string; t?: protobuf.Message }[];
  };
  if (node.opType !== 'Constant' || (node.domain ?? '') !== '' || node.output?.length !== 1) return undefined;
  if (node.attribute?.length !== 1 || node.attribute[0]!.name !== 'value' || !node.attribute[0]!.t) return undefined;
  const tensorBytes = Buffer.from(Tensor.encode(node.attribute[0]!.t).finish());
  const h = Tensor.toObject(node.attribute[0]!.t, TO_OBJECT) as TensorHeader & { rawData?: Buffer };
  const info = dtypeInfo(h.dataType ?? 0);
  if (!info || h.dataType === STRING_DTYPE) return undefined; // leave anything unusual to ONNX Runtime
  const named: TensorHeader = { ...h, name: node.output[0] };
  const expected = rawByteLength(info, elementCount(h.dims ?? []));
  // The threshold is on data bytes, as for initializers (an empty tensor is never external data).
  if (expected < ctx.minExternal && h.dataLocation !== EXTERNAL) return undefined;
  const fail = (code: 'ERR_INVALID_MODEL' | 'ERR_UNSUPPORTED_DTYPE', why: string) =>
    new TensorshareError(code, `${ctx.file}: Constant '${named.name}' ${why}`, { file: ctx.file, tensor: named.name });
  if (h.dataLocation === EXTERNAL) {
    const { sink, finished } = await copyExternal(ctx, named, expected);
    return { body: await externalize(ctx, named, expected, sink, finished), header: named };
  }
  const bytes = h.rawData ?? typedToRaw(tensorBytes, h.dataType ?? 0, expected, fail);
  if (bytes.length !== expected)
    throw fail('ERR_INVALID_MODEL', `has ${bytes.length} bytes of data but its dims need ${expected}`);
  const sink = await ctx.newSink();
  await sink.write(bytes);
  return { body: await externalize(ctx, named, expected, sink), header: named };
}

const NODE_ATTRIBUTE = 5;
const ATTR_GRAPH = 6;
const ATTR_GRAPHS = 11;
const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);

/** Rewrites the initializers of a control-flow node's subgraphs (If/Loop/Scan bodies), byte-for-byte otherwise. */
async function rewriteSubgraphs<S extends TensorSink>(ctx: Ctx<S>, nodeBytes: Buffer): Promise<Buffer> {
  const { Node } = onnxTypes();
  const node = Node.decode(nodeBytes) as unknown as { opType?: string };
  if (!CONTROL_FLOW.has(node.opType ?? '')) return nodeBytes;
  return editFields(nodeBytes, ctx.file, async (field, body) => {
    if (field !== NODE_ATTRIBUTE) return undefined;
    return editFields(body, ctx.file, async (f, sub) => {
      if (f !== ATTR_GRAPH && f !== ATTR_GRAPHS) return undefined;
      const r = new ForwardReader(bufferSource(sub), sub.length, ctx.file);
      return rewriteGraph({ ...ctx, r, source: undefined }, sub.length);
    });
  });
}
