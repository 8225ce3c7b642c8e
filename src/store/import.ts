// `tensorshare import`: split a model into graph + content-addressed tensors
// in the repository. Order of publication matters for crash safety: tensors,
// then graph, then the manifest; a model exists only once its manifest does.
// Before anything is published, ONNX Runtime loads the staged model the way
// fast-open will: a model it cannot run is refused with a named condition
// (runtime-check.ts) and leaves nothing behind, unless the caller allows it
// (allowUnrunnable), in which case the manifest records why and the result
// carries a warning.
import path from 'node:path';
import { files as fs } from '../file-calls.js';
import { TensorshareError, rethrowNoSpace } from '../errors.js';
import { splitModel, type SplitResult, type TensorSink } from '../onnx/split.js';
import { MODEL_GRAPH } from '../onnx/schema.js';
import { editFields } from '../onnx/wire.js';
import { ortVersion } from '../ort-version.js';
import { createHash } from 'node:crypto';
import {
  ensureLayout,
  graphPath,
  isPresent,
  isValidName,
  isValidVersion,
  layout,
  manifestPath,
  tensorPath,
} from './layout.js';
import { withLock } from './lock.js';
import { MANIFEST_FORMAT, ioSpec, type Manifest, type OpenMode } from './manifest.js';
import { listVersions, readManifest } from './repository.js';
import {
  cleanStaleStaging,
  commitFile,
  fileSink,
  type StagedSink,
  type StagingFiles,
  stagingFiles,
  writeAtomic,
} from './staging.js';
import { dtypeInfo } from '../onnx/dtypes.js';
import type { FileHandle } from 'node:fs/promises';
import { copyPool, type CopyPool } from './copy-pool.js';
import { checkRunnableIsolated, knownVerdict, prestartRuntimeChecks } from './runtime-process.js';
import { sourceIdentity, stampedImport, writeStamp } from './source-stamp.js';

/** Model files from this size copy and hash on worker threads (below it, starting them costs more than they save). */
export const HASH_THREADS_FROM_BYTES = 64 * 2 ** 20;

/** Size of a file; 0 when it cannot be read (splitModel reports why). */
async function bytesOf(file: string): Promise<number> {
  return (await fs.stat(file).catch(() => undefined))?.size ?? 0;
}

/** Bytes of the other files in `file`'s folder (where its external data files would be), counted up to HASH_THREADS_FROM_BYTES. */
async function bytesBeside(file: string): Promise<number> {
  const dir = path.dirname(file);
  let total = 0;
  for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
    if (f !== path.basename(file)) total += await bytesOf(path.join(dir, f));
    if (total >= HASH_THREADS_FROM_BYTES) break;
  }
  return total;
}

export interface ImportOptions {
  name: string;
  version?: string;
  defaultMode?: OpenMode;
  /** Initializers smaller than this stay inside the graph (default 1024 bytes; 1 moves every non-string tensor to the store). */
  minExternalBytes?: number;
  /** Import a model that ONNX Runtime cannot load (it stays unopenable until a runtime can), with a warning. Default false: refuse it. */
  allowUnrunnable?: boolean;
  onProgress?: (bytesRead: number, total: number) => void;
  /**
   * Also record the whole file's SHA-256 (`source.sha256`): one more pass over
   * its bytes, on a worker thread for a large model. The daemon asks for it:
   * the client hook names and checks the models it imports by it. Default
   * false: the manifest records the source digest only. An import that finds
   * the model already there returns that manifest as it was written.
   */
  hashSource?: boolean;
}

/** Where an import's time went (ms; zero for a step it did not take). */
export interface ImportPhases {
  /** Reading, parsing, copying and hashing the model into staging. */
  split: number;
  /** ONNX Runtime loading the staged model (0 when a graph of the same structure passed before in this process). */
  check: number;
  /** Publishing under the commit lock. */
  commit: number;
}

export interface ImportResult {
  manifest: Manifest;
  /** 'created' for a new version, 'existing' when identical content was already imported. */
  outcome: 'created' | 'existing';
  tensorsAdded: number;
  bytesAdded: number;
  ms: number;
  phases: ImportPhases;
  /** Things the caller should tell the user (a model ONNX Runtime cannot run, imported anyway). */
  warnings: string[];
}

export async function importModel(repository: string, file: string, options: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  if (!isValidName(options.name)) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `invalid model name '${options.name}': use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit)`,
    );
  }
  if (options.version !== undefined && !isValidVersion(options.version)) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `invalid version '${options.version}': use letters, digits, '.', '_' and '-'`,
    );
  }
  const l = layout(repository);
  // A file stamped as imported and unchanged since (stat identity): not even read.
  const stamped = await stampedImport(l, options.name, options.version, file);
  if (stamped) return existingResult(stamped, t0);
  const before = await sourceIdentity(file);
  const result = await importUnstamped(l, file, options, t0);
  await writeStamp(l, file, result.manifest, before);
  return result;
}

/** The result of an import that found the model already there. */
function existingResult(
  manifest: Manifest,
  t0: number,
  phases: ImportPhases = { split: 0, check: 0, commit: 0 },
  warnings: string[] = [],
): ImportResult {
  return {
    manifest,
    outcome: 'existing',
    tensorsAdded: 0,
    bytesAdded: 0,
    ms: performance.now() - t0,
    phases,
    warnings,
  };
}

/** The whole file's SHA-256 from an open handle: on a worker thread with a pool, else here. */
function wholeFileSha256(pool: CopyPool | undefined): (fh: FileHandle, size: number) => Promise<string> {
  return async (fh, size) => {
    if (pool) return pool.copy(fh.fd, 0, size);
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(size, 4 << 20));
    for (let pos = 0; pos < size; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0)
        throw new TensorshareError('ERR_INVALID_MODEL', 'the model file ended early (changed while being imported?)');
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return h.digest('hex');
  };
}

async function importUnstamped(
  l: ReturnType<typeof layout>,
  file: string,
  options: ImportOptions,
  t0: number,
): Promise<ImportResult> {
  // Read-only, so before the layout checks: a re-import of the same file touches nothing.
  const known = await findSameSource(l, options.name, options.version, file);
  if (known) return existingResult(known, t0);
  await ensureLayout(l);
  await cleanStaleStaging(l);
  const staging = stagingFiles(l);
  try {
    // A large model: the main thread parses, worker threads copy and hash each tensor's bytes (both
    // cores). A small one is read and hashed inline: starting workers cost ~6x the CPU of importing a
    // 0.8 MB model (1,000 functions' first start took 125 s instead of 76 s). Tensors in external data
    // files count through the files beside the model.
    const size = await bytesOf(file);
    const large = size + (size >= HASH_THREADS_FROM_BYTES ? 0 : await bytesBeside(file)) >= HASH_THREADS_FROM_BYTES;
    // The runtime check's process starts while the split runs: only the session load is left after it.
    if (large) prestartRuntimeChecks();
    const pool = large ? copyPool() : undefined;
    const tSplit = performance.now();
    const split = await splitModel(file, {
      minExternalBytes: options.minExternalBytes,
      onProgress: options.onProgress,
      // A tensor the repository has (a fine-tuned variant's shared layers) is not staged: see SinkOptions.
      newSink: fileSink(staging.path, 0, pool, { stored: (sha) => isPresent(tensorPath(l, sha)) }),
      whole: options.hashSource ? wholeFileSha256(pool) : undefined,
    }).finally(() => pool?.close());
    const phases: ImportPhases = { split: performance.now() - tSplit, check: 0, commit: 0 };
    const graphSha = createHash('sha256').update(split.graph).digest('hex');
    const stagedGraph = staging.path('graph.onnx');
    // Written in place: nothing reads staging files, and its commit is the rename (a second file in tmp/
    // made and renamed here cost one more inode on the repository's disk per import).
    await fs.writeFile(stagedGraph, split.graph).catch((e) => rethrowNoSpace(e, stagedGraph));
    const draft = buildManifest(split, file, graphSha, options);
    const warnings: string[] = [];
    // Importing the same bytes again (a function's modelFile at every start) is a no-op: no runtime check.
    const imported = await findSameContent(l, options.name, options.version, graphSha);
    if (imported) return existingResult(imported, t0, phases, warnings);
    const tCheck = performance.now();
    const checked = await stagedRuntimeCheck(staging, stagedGraph, split, draft, file, options, warnings);
    phases.check = checked.checked ? performance.now() - tCheck : 0;
    draft.runtime = checked.verdict;

    const tCommit = performance.now();
    return await withLock(l, async () => {
      const existing = await findSameContent(l, options.name, options.version, graphSha);
      if (existing) return existingResult(existing, t0, phases, warnings);
      const version = options.version ?? (await nextVersion(l, options.name));
      let tensorsAdded = 0;
      let bytesAdded = 0;
      const sizes = new Map(split.tensors.map((t) => [t.sha256, t.bytes]));
      for (const [sha, { path: staged, sink }] of checked.staged) {
        const dest = tensorPath(l, sha);
        // Not moved for a check: a tensor finish() found stored may have no file; one stored since needs none.
        if (sink && isPresent(dest)) {
          await sink.discard();
          continue;
        }
        await sink?.ensureWritten();
        if ((await commitFile(staged, dest)) === 'added') {
          tensorsAdded++;
          bytesAdded += sizes.get(sha)!;
        }
      }
      await commitFile(stagedGraph, graphPath(l, graphSha));
      const manifest: Manifest = { ...draft, version };
      await writeAtomic(l, manifestPath(l, options.name, version), `${JSON.stringify(manifest, null, 2)}\n`);
      phases.commit = performance.now() - tCommit;
      return {
        manifest,
        outcome: 'created' as const,
        tensorsAdded,
        bytesAdded,
        ms: performance.now() - t0,
        phases,
        warnings,
      };
    });
  } finally {
    await staging.remove();
  }
}

const BY_HASH = 'by-hash';

/**
 * Loads the staged graph with ONNX Runtime over the staged tensors (moved to
 * names by hash, as in the store), at fast-open's levels; a graph whose
 * structure passed before in this process (a fine-tuned variant) takes that
 * verdict, and its tensors stay where the split wrote them. Returns the
 * verdict and where each distinct tensor is staged.
 */
async function stagedRuntimeCheck(
  staging: StagingFiles,
  stagedGraph: string,
  split: SplitResult<StagedSink>,
  draft: Omit<Manifest, 'version'>,
  file: string,
  options: ImportOptions,
  warnings: string[],
): Promise<{
  verdict: Manifest['runtime'];
  /** Whether ONNX Runtime loaded it now (false: a verdict known in this process). */
  checked: boolean;
  staged: Map<string, { path: string; sink?: StagedSink }>;
}> {
  const key = await graphStructureKey(split);
  const staged = new Map<string, { path: string; sink?: StagedSink }>();
  const known = await knownVerdict(key);
  if (known) {
    for (const t of split.tensors) {
      if (staged.has(t.sha256)) await t.sink.discard();
      else staged.set(t.sha256, { path: t.sink.path, sink: t.sink });
    }
    return { verdict: known, checked: false, staged };
  }
  const dir = staging.path(BY_HASH);
  await fs.mkdir(dir);
  // Moved, not hard-linked: ORT refuses external data files with several links (in subgraphs).
  for (const t of split.tensors) {
    if (staged.has(t.sha256)) await t.sink.discard();
    else {
      staged.set(t.sha256, { path: path.join(dir, t.sha256) });
      await t.sink.ensureWritten();
      await fs.rename(t.sink.path, path.join(dir, t.sha256));
    }
  }
  try {
    const verdict = await checkRunnableIsolated(
      stagedGraph,
      dir,
      { inputs: draft.inputs, outputs: draft.outputs },
      path.basename(file),
      key,
    );
    return { verdict, checked: true, staged };
  } catch (e) {
    if (!options.allowUnrunnable || !(e instanceof TensorshareError)) throw e;
    warnings.push(`${e.message}; imported anyway: opens fail until an ONNX Runtime that runs it is installed`);
    return {
      verdict: { fastOpenLevel: 'disabled', unrunnable: { code: e.code, message: e.message } },
      checked: true,
      staged,
    };
  }
}

/** ModelProto fields that name or describe a model and cannot decide its load: producer, domain, doc string, metadata. */
const MODEL_PROSE = new Set([2, 3, 4, 6, 14]);
/** GraphProto fields of the same kind: its name and doc string. */
const GRAPH_PROSE = new Set([2, 10]);

/** ONNX element types of weights: their values cannot decide whether ONNX Runtime loads a graph. */
const WEIGHT_TYPES = new Set([1, 10, 11, 16]); // FLOAT, FLOAT16, DOUBLE, BFLOAT16

/**
 * A key for the runtime check's verdict that fine-tuned variants of one
 * graph share: the rewritten graph with the hashes of its external
 * floating-point weights blanked and its names and descriptions emptied,
 * under this ONNX Runtime version. What can decide a load stays in the key:
 * every node and attribute, every shape and type, the values of embedded
 * tensors (under 1 KiB) and of external non-float ones (indices, shapes). A
 * thousand fine-tuned functions' first start then pays one check, not a
 * thousand one at a time.
 */
export async function graphStructureKey(split: Pick<SplitResult, 'graph' | 'tensors'>): Promise<string> {
  const none = Buffer.alloc(0);
  const plain = await editFields(split.graph, 'the rewritten graph', (field, body) =>
    MODEL_PROSE.has(field)
      ? none
      : field === MODEL_GRAPH
        ? editFields(body, 'the rewritten graph', (f) => (GRAPH_PROSE.has(f) ? none : undefined))
        : undefined,
  );
  // One pass over the graph, not one per tensor (a BERT-base graph has ~200 of them).
  const weights = new Set(split.tensors.filter((t) => WEIGHT_TYPES.has(t.dataType)).map((t) => t.sha256));
  const zeros = '0'.repeat(64);
  const text = plain.toString('latin1').replace(/[0-9a-f]{64}/g, (hex) => (weights.has(hex) ? zeros : hex));
  return createHash('sha256').update(ortVersion()).update('\0').update(text, 'latin1').digest('hex');
}

/** Same name and same content already imported (under the asked version, or any version when none was asked)? */
async function findSameContent(
  l: ReturnType<typeof layout>,
  name: string,
  version: string | undefined,
  digest: string,
): Promise<Manifest | undefined> {
  const versions = await listVersions(l, name);
  if (version !== undefined) {
    if (!versions.includes(version)) return undefined;
    const m = await readManifest(l, name, version);
    if (m.digest === digest) return m;
    throw new TensorshareError(
      'ERR_VERSION_EXISTS',
      `model ${name}:${version} already exists with different content; choose another --version or remove it first`,
      { name, version },
    );
  }
  for (const v of versions.reverse()) {
    const m = await readManifest(l, name, v);
    if (m.digest === digest) return m;
  }
  return undefined;
}

/**
 * A version of `name` imported from a file with these exact bytes (the source
 * digest its manifest records, or in older manifests the whole file's
 * SHA-256): importing it again needs no split and no runtime check. Only
 * single-file models; the file is read only when a version of the same size
 * exists, and nothing is written.
 */
async function findSameSource(
  l: ReturnType<typeof layout>,
  name: string,
  version: string | undefined,
  file: string,
): Promise<Manifest | undefined> {
  const size = await fs.stat(file).then(
    (st) => (st.isFile() ? st.size : undefined),
    () => undefined,
  );
  if (size === undefined) return undefined; // the slow path names the problem
  const versions = (await listVersions(l, name)).filter((v) => version === undefined || v === version).reverse();
  let sha: Promise<string> | undefined;
  let digest: Promise<string | undefined> | undefined;
  for (const v of versions) {
    const m = await readManifest(l, name, v).catch(() => undefined);
    if (!m || m.source.bytes !== size || m.source.externalFiles.length > 0) continue;
    if (m.source.digest !== undefined) {
      digest ??= sourceDigestOf(file, size);
      if (m.source.digest === (await digest)) return m;
    } else if (m.source.sha256 !== undefined) {
      sha ??= fileSha256(file);
      if (m.source.sha256 === (await sha)) return m;
    }
  }
  return undefined;
}

/**
 * The source digest of `file` by a split that writes nothing (the tensors
 * are only hashed, on worker threads for a large file; the graph it builds
 * is thrown away); undefined when the split fails (the import that follows
 * names why).
 */
async function sourceDigestOf(file: string, size: number): Promise<string | undefined> {
  const pool = size >= HASH_THREADS_FROM_BYTES ? copyPool() : undefined;
  const newSink = async (): Promise<TensorSink> => {
    const h = createHash('sha256');
    let bytes = 0;
    let copied: Promise<string> | undefined;
    return {
      async write(chunk) {
        h.update(chunk);
        bytes += chunk.length;
      },
      ...(pool && {
        async copyRange(source: FileHandle, offset: number, length: number) {
          bytes += length;
          copied = pool.copy(source.fd, offset, length);
        },
      }),
      finish: async () => ({ sha256: copied ?? h.digest('hex'), bytes }),
      abort: async () => {},
      // The graph is not kept: a tensor moved back into it may hold any bytes of its length.
      readBack: async () => Buffer.alloc(bytes),
    };
  };
  try {
    return (await splitModel(file, { newSink })).source.digest;
  } catch {
    return undefined;
  } finally {
    await pool?.close();
  }
}

/**
 * Read buffers for fileSha256, reused: a restart re-hashes a thousand model
 * files, and a fresh buffer per chunk (what a read stream allocates) lives
 * until V8 collects it, growing the malloc heap by tens of MB that stay.
 */
const HASH_CHUNK = 64 << 10; // the pool holds one per concurrent re-import: 2 MiB at 32
const hashBuffers: Buffer[] = [];

async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  const buf = hashBuffers.pop() ?? Buffer.allocUnsafeSlow(HASH_CHUNK);
  const fh = await fs.open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
    hashBuffers.push(buf);
  }
  return h.digest('hex');
}

async function nextVersion(l: ReturnType<typeof layout>, name: string): Promise<string> {
  const numeric = (await listVersions(l, name)).map(Number).filter((n) => Number.isSafeInteger(n));
  return String(numeric.length ? Math.max(...numeric) + 1 : 1);
}

function buildManifest(
  split: SplitResult<TensorSink>,
  file: string,
  graphSha: string,
  options: ImportOptions,
): Omit<Manifest, 'version'> & { version: string } {
  return {
    format: MANIFEST_FORMAT,
    name: options.name,
    version: '',
    digest: graphSha,
    createdAt: new Date().toISOString(),
    graph: { sha256: graphSha, bytes: split.graph.length },
    source: { file: path.basename(file), ...split.source },
    producer: split.producer,
    irVersion: split.irVersion,
    opsets: split.opsets,
    inputs: split.inputs.map(ioSpec),
    outputs: split.outputs.map(ioSpec),
    tensors: split.tensors.map((t) => ({
      name: t.name,
      sha256: t.sha256,
      bytes: t.bytes,
      dtype: dtypeInfo(t.dataType)?.name ?? String(t.dataType),
      dims: t.dims,
    })),
    embeddedBytes: split.embeddedBytes,
    defaultMode: options.defaultMode ?? 'fast-open',
    ortVersion: ortVersion(),
    target: 'any',
  };
}
