// Work that needs ONNX Runtime, run in a child process: building a fast-run
// variant (fast-run.ts) and checking that ORT loads a staged import
// (runtime-check.ts). The process asking never loads ONNX Runtime (the gateway
// and the daemon must not), and a native crash on a hostile model ends only
// the child. The child answers each job once over IPC; a build gets a process
// of its own, runtime checks share one (runChecked).
import { fork, type ChildProcess } from 'node:child_process';
import { TensorshareError, type ErrorCode } from '../errors.js';
import type { Layout } from './layout.js';
import type { IoSpec, Manifest, VariantManifest } from './manifest.js';
import type { RuntimeVerdict } from './runtime-check.js';

export type RuntimeJob =
  | { kind: 'build-fast-run'; repository: string; store: string; manifest: Manifest }
  | {
      kind: 'check-runnable';
      graph: string;
      tensorsDir: string;
      io: { inputs: IoSpec[]; outputs: IoSpec[] };
      what: string;
    };

export type RuntimeAnswer =
  | { ok: true; value: unknown }
  | { ok: false; error: { code?: ErrorCode; message: string; details?: Record<string, unknown> } };

const CHILD = new URL('./runtime-child.js', import.meta.url);

interface RuntimeChild {
  child: ChildProcess;
  /** What a native crash prints (e.g. "terminate called after throwing ..."), kept short for the error message. */
  stderr(): string;
}

function startChild(): RuntimeChild {
  // None of the parent's exec flags (`--input-type`, `-e`, `--test`): the child loads as a plain module.
  const child = fork(CHILD, [], {
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
  });
  return { child, stderr: () => stderr };
}

/** Sends one job to `rc` and waits for its one answer (or the process's end). */
function ask<T>(rc: RuntimeChild, job: RuntimeJob, what: string): Promise<T> {
  const { child } = rc;
  return new Promise((resolve, reject) => {
    const onMessage = (a: RuntimeAnswer) => {
      child.off('close', onClose);
      child.off('error', onError);
      if (a.ok) resolve(a.value as T);
      else if (a.error.code) reject(new TensorshareError(a.error.code, a.error.message, a.error.details));
      else reject(new TensorshareError('ERR_INTERNAL', `${what}: ${a.error.message}`));
    };
    const onError = (e: Error) =>
      reject(
        new TensorshareError(
          'ERR_INTERNAL',
          `${what}: cannot start the ONNX Runtime process: ${e.message}`,
          {},
          { cause: e },
        ),
      );
    // 'close', not 'exit': under load 'exit' can come before the answer still buffered on the IPC channel.
    const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
      child.off('message', onMessage);
      const err = rc.stderr().trim();
      const how = `${signal ?? `exit code ${code}`}${err ? `: ${err.split('\n').slice(-2).join(' ')}` : ''}`;
      // A crash while loading a model is ONNX Runtime refusing that model, not a fault of ours.
      if (job.kind === 'check-runnable' && signal)
        reject(
          new TensorshareError(
            'ERR_RUNTIME_REJECTED',
            `${job.what}: ONNX Runtime crashed loading this model as it would be stored (${how})`,
            { model: job.what, signal },
          ),
        );
      else
        reject(
          new TensorshareError('ERR_INTERNAL', `${what}: the ONNX Runtime process ended without an answer (${how})`),
        );
    };
    child.once('message', onMessage);
    child.once('error', onError);
    child.once('close', onClose);
    child.send(job);
  });
}

function runIsolated<T>(job: RuntimeJob, what: string): Promise<T> {
  const rc = startChild();
  return ask<T>(rc, job, what).finally(() => {
    if (rc.child.connected) rc.child.disconnect();
  });
}

/**
 * Runtime checks share one ONNX Runtime process, one check at a time, so
 * importing many models (a thousand functions' model files) loads ONNX
 * Runtime once rather than once per model. A crash fails only the check it
 * was running; the next check starts a fresh process. Idle for CHECKER_IDLE_MS,
 * the process is told to exit, and while idle it never keeps this process alive.
 */
const CHECKER_IDLE_MS = 2000;
let checker: RuntimeChild | undefined;
let checkerIdle: ReturnType<typeof setTimeout> | undefined;
let checks: Promise<unknown> = Promise.resolve();

/** The checker process, started if there is none (it loads ONNX Runtime as it starts). */
function ensureChecker(): RuntimeChild {
  if (checker?.child.connected) return checker;
  const rc = startChild();
  rc.child.once('close', () => {
    if (checker === rc) checker = undefined;
  });
  rc.child.on('error', () => {}); // between checks nobody listens; a check in progress hears it through ask()
  checker = rc;
  return rc;
}

/** Lets the checker go: it keeps nothing alive, and exits after CHECKER_IDLE_MS unless a check comes. */
function idle(rc: RuntimeChild): void {
  if (!rc.child.connected) return;
  rc.child.unref();
  rc.child.channel?.unref();
  clearTimeout(checkerIdle);
  checkerIdle = setTimeout(() => {
    if (checker === rc) checker = undefined;
    if (rc.child.connected) rc.child.disconnect();
  }, CHECKER_IDLE_MS);
  checkerIdle.unref();
}

/**
 * Starts the checker process now, while an import still reads and writes
 * its model, so that the check after the split pays only the session load:
 * the process start (Node and onnxruntime-node, ~150-200 ms) overlaps the
 * split. Unused, it exits after CHECKER_IDLE_MS as after a check. Not in a
 * process that holds verdicts already (a daemon importing fine-tuned
 * variants of a checked graph): there the check is often not needed at all,
 * and a fork of a large process costs tens of ms of its CPU.
 */
export function prestartRuntimeChecks(): void {
  if (checker?.child.connected || verdicts.size > 0) return;
  idle(ensureChecker());
}

/**
 * For benchmarks and tests that measure a first check: forgets the verdicts
 * kept in this process and ends an idle checker process.
 */
export async function resetRuntimeChecks(): Promise<void> {
  await checks;
  verdicts.clear();
  clearTimeout(checkerIdle);
  const rc = checker;
  checker = undefined;
  if (rc?.child.connected) {
    const exited = new Promise((resolve) => rc.child.once('exit', resolve));
    rc.child.ref(); // waited for: this process stays up until it has gone
    rc.child.disconnect();
    await exited;
  }
}

function runChecked<T>(job: RuntimeJob, what: string): Promise<T> {
  const run = async (): Promise<T> => {
    clearTimeout(checkerIdle);
    const rc = ensureChecker();
    rc.child.ref();
    rc.child.channel?.ref();
    try {
      return await ask<T>(rc, job, what);
    } finally {
      idle(rc);
    }
  };
  const next = checks.then(run, run);
  checks = next.catch(() => {});
  return next;
}

export function buildFastRunIsolated(
  repo: Layout,
  store: Layout,
  m: Manifest,
): Promise<{ variant: VariantManifest; built: boolean }> {
  return runIsolated(
    { kind: 'build-fast-run', repository: repo.root, store: store.root, manifest: m },
    `building the fast-run variant of ${m.name}:${m.version}`,
  );
}

/**
 * Verdicts of checks by structure key (import.ts graphStructureKey), the
 * check in flight included, so concurrent imports of one graph's variants
 * share it; failures are not kept (the next import checks again).
 */
const VERDICTS_KEPT = 256;
const verdicts = new Map<string, Promise<RuntimeVerdict>>();

/**
 * The verdict of a passed check of this structure in this process (a copy),
 * or undefined: none yet, one still running, or one that failed (its model
 * is then checked in its own name). Lets an import skip staging its tensors
 * for a check it will not run.
 */
export async function knownVerdict(structureKey: string): Promise<RuntimeVerdict | undefined> {
  const known = verdicts.get(structureKey);
  return known === undefined
    ? undefined
    : known.then(
        (v) => structuredClone(v),
        () => undefined,
      );
}

/**
 * Whether ONNX Runtime loads `graph` over the tensors in `tensorsDir` the way
 * fast-open does (runtime-check.ts); with `structureKey`, a graph of the same
 * structure checked before in this process gets that verdict without a check.
 */
export function checkRunnableIsolated(
  graph: string,
  tensorsDir: string,
  io: { inputs: IoSpec[]; outputs: IoSpec[] },
  what: string,
  structureKey?: string,
): Promise<RuntimeVerdict> {
  const own = () =>
    runChecked<RuntimeVerdict>(
      { kind: 'check-runnable', graph, tensorsDir, io, what },
      `checking that ONNX Runtime loads ${what}`,
    );
  const known = structureKey === undefined ? undefined : verdicts.get(structureKey);
  // A refusal is this model's own: checked again, it is reported in its own name.
  if (known) return known.then((v) => structuredClone(v), own);
  const check = own();
  if (structureKey !== undefined) {
    if (verdicts.size >= VERDICTS_KEPT) verdicts.delete(verdicts.keys().next().value!);
    verdicts.set(structureKey, check);
    check.catch(() => verdicts.get(structureKey) === check && verdicts.delete(structureKey));
  }
  return check;
}
