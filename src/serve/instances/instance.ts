// One instance: a forked process serving one deployment of one function.
// Tracks its state (starting -> ready -> draining -> exited) and in-flight
// requests; when the process dies every request it held fails with
// ERR_UNAVAILABLE and the owner hears why it ended.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TensorshareError, isErrorCode } from '../../errors.js';
import type { DeployedFunction } from '../functions/deploy.js';
import type { PriorityClass } from '../functions/config.js';
import { compactTensor, type InferRequest, type Tensor } from '../../tensor/index.js';
import {
  createSegmentFile,
  putTensors,
  segmentReader,
  segmentWriter,
  slotOfBytes,
  slotsOf,
  takeBytesAsync,
  takeTensorsAsync,
  type BufferPool,
  type SegmentReader,
  type Slot,
} from '../../shm/index.js';
import type { WithJsonText, WithJsonTextAsk } from '../protocol/json-text.js';
import { limitInstanceMemory, type MemoryLimitOptions } from './memory-limit.js';
import type { OpenerSpec } from './opener.js';
import type { FromInstance, ReadyMessage, ToInstance, WireError } from './protocol.js';
import type { ProcessUser } from './user.js';

export const CHILD_MODULE = fileURLToPath(new URL('./child.js', import.meta.url));

/** Environment every instance gets: few malloc arenas, large blocks returned to the OS (transient prepack peaks do not stay). */
export const INSTANCE_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' } as const;

/**
 * Node reads and parses the file NODE_EXTRA_CA_CERTS names at every start, TLS or not: a system bundle of about
 * 150 certificates took 30-35 ms of each start here (bootstrap 45-70 ms with it, 13-19 ms without), a fifth of a
 * forked instance's way to its first answer. Instances therefore start without it unless asked to keep it
 * (`serve --instance-extra-ca-certs`: for handlers that call TLS servers signed by those authorities).
 */
export const EXTRA_CA_CERTS_VAR = 'NODE_EXTRA_CA_CERTS';

/** The environment instance processes start from: `env` without NODE_EXTRA_CA_CERTS unless `keepExtraCaCerts`. */
export function instanceEnvironment(env: NodeJS.ProcessEnv, keepExtraCaCerts = false): NodeJS.ProcessEnv {
  if (keepExtraCaCerts || env[EXTRA_CA_CERTS_VAR] === undefined) return env;
  const { [EXTRA_CA_CERTS_VAR]: _dropped, ...rest } = env;
  return rest;
}

export type InstanceState = 'starting' | 'ready' | 'draining' | 'exited';

/** Why an instance ended: the runtime asked (scale-down, memory, update, unload, evicted, close) or it did not (crash, start-failed). */
export type ExitReason = 'crash' | 'start-failed' | 'scale-down' | 'memory' | 'update' | 'unload' | 'evicted' | 'close';

export interface ExitInfo {
  reason: ExitReason;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** For start-failed: what went wrong. */
  error?: TensorshareError;
}

export interface InstanceResult {
  /** With the JSON text the request's `jsonText` asked for, where the instance wrote it. */
  outputs: WithJsonText<Tensor>[];
  parameters?: Record<string, string | number | boolean>;
  runMs: number;
  /** The instance writing JSON text (ms). */
  formatMs?: number;
  device?: 'cpu' | 'gpu';
}

export interface Instance {
  readonly id: string;
  readonly fn: string;
  readonly version: string;
  readonly pid: number | undefined;
  readonly state: InstanceState;
  readonly inflight: number;
  /** performance.now() at spawn and at ready. */
  readonly spawnedAt: number;
  readonly readyAt: number | undefined;
  /** Spawn -> ready, measured in this process. */
  readonly coldStartMs: number | undefined;
  readonly readyInfo: ReadyMessage | undefined;
  readonly lastUsedAt: number;
  /** Sends a request; the promise settles when the instance answers or dies. */
  /** `device: 'cpu'`: on the instance's CPU sessions although its models are on a GPU (the fallback). */
  request(
    request: WithJsonTextAsk<InferRequest>,
    device?: 'cpu',
    priority?: PriorityClass,
  ): { id: number; result: Promise<InstanceResult> };
  /** Tells the instance to drop a request (the slot stays taken until it answers). */
  cancel(id: number): void;
  /** Stops taking requests; exits once in-flight ones are done (a starting instance is stopped at once). */
  drain(reason: ExitReason): void;
  kill(reason: ExitReason): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>;
}

export interface InstanceOptions {
  id: string;
  deployed: DeployedFunction;
  repository: string;
  store: string;
  opener: OpenerSpec;
  /** Kill an instance not ready after this long. */
  startTimeoutMs: number;
  /** After asking a drained instance to exit, kill it if still alive after this long. */
  exitTimeoutMs: number;
  /** A draining instance whose requests have not finished after this long is killed. */
  drainTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** How memoryLimitMb is enforced while requests run (default: a cgroup where possible, else sampling). */
  memoryLimit?: MemoryLimitOptions;
  /** Run the process as this user (serve as root: an unprivileged one); default: this process's. */
  user?: ProcessUser;
  /** tmpfs folder of the segments tensors cross in (default /dev/shm); false: tensors travel inside IPC messages. */
  /** Buffers this side reads large JSON text into; whoever sends the response gives them back (src/shm/buffer-pool.ts). */
  readBuffers?: BufferPool;
  shmDir?: string | false;
  /** A process forked earlier with the same env, user and shmDir (prestart.ts): used instead of forking; spawnedAt is the handover. */
  prestarted?: InstanceProcess;
  onReady(inst: Instance): void;
  onExit(inst: Instance, info: ExitInfo): void;
  /** It answered its last request in flight (result or error). */
  onIdle?(inst: Instance): void;
}

/**
 * The error an instance reported, as a TensorshareError of this process. A
 * handler can throw any string as its code: only known codes travel on (codes
 * become statuses and metric labels); others are ERR_INTERNAL, naming the code.
 */
export function errorFromWire(e: WireError, fn: string): TensorshareError {
  if (!isErrorCode(e.code)) {
    return new TensorshareError(
      'ERR_INTERNAL',
      `function '${fn}' failed with unknown error code ${JSON.stringify(e.code)}: ${e.message}`,
      { ...e.details, function: fn },
    );
  }
  const message = e.code === 'ERR_INTERNAL' ? `function '${fn}' failed: ${e.message}` : e.message;
  return new TensorshareError(e.code, message, { ...e.details, function: fn });
}

export function startInstance(o: InstanceOptions): Instance {
  const d = o.deployed;
  const fn = d.name;
  const spawnedAt = performance.now();
  let state: InstanceState = 'starting';
  let readyAt: number | undefined;
  let readyInfo: ReadyMessage | undefined;
  let lastUsedAt = spawnedAt;
  let requestedExit: ExitReason | undefined;
  let startError: TensorshareError | undefined;
  let nextId = 1;
  const pending = new Map<
    number,
    { resolve: (r: InstanceResult) => void; reject: (e: Error) => void; slots: Slot[] }
  >();
  const timers: ReturnType<typeof setTimeout>[] = [];
  let resolveExited!: (i: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((r) => (resolveExited = r));

  const { child, shm } = o.prestarted ?? forkInstanceProcess(o);

  const memory = limitInstanceMemory({
    pid: child.pid,
    instance: o.id,
    limitMb: d.config.memoryLimitMb,
    options: o.memoryLimit,
    kill: () => child.kill('SIGKILL'),
  });

  const send = (m: ToInstance): boolean => {
    try {
      if (!child.connected) return false;
      child.send(m);
      return true;
    } catch {
      return false;
    }
  };
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(f, ms);
    t.unref();
    timers.push(t);
  };
  const askExit = () => {
    if (!send({ type: 'exit' })) child.kill('SIGKILL');
    later(o.exitTimeoutMs, () => child.kill('SIGKILL'));
  };

  const inst: Instance = {
    id: o.id,
    fn,
    version: d.version,
    get pid() {
      return child.pid;
    },
    get state() {
      return state;
    },
    get inflight() {
      return pending.size;
    },
    spawnedAt,
    get readyAt() {
      return readyAt;
    },
    get coldStartMs() {
      return readyAt === undefined ? undefined : readyAt - spawnedAt;
    },
    get readyInfo() {
      return readyInfo;
    },
    get lastUsedAt() {
      return lastUsedAt;
    },
    exited,
    request(request, device, priority) {
      const id = nextId++;
      lastUsedAt = performance.now();
      const result = new Promise<InstanceResult>((resolve, reject) => {
        if (state !== 'ready') {
          reject(
            new TensorshareError('ERR_UNAVAILABLE', `instance ${o.id} of function '${fn}' is ${state}`, {
              function: fn,
              instance: o.id,
            }),
          );
          return;
        }
        const put = shm ? putTensors(shm.toChild, request.inputs) : { tensors: request.inputs, slots: [] };
        pending.set(id, { resolve, reject, slots: put.slots });
        memory?.setBusy(true);
        const msg: ToInstance = {
          type: 'infer',
          id,
          request: { ...request, inputs: put.tensors.map(compactTensor) },
          ...(device ? { device } : {}),
          ...(priority ? { priority } : {}),
        };
        if (!send(msg)) {
          for (const s of put.slots) shm?.toChild.release(s);
          pending.delete(id);
          memory?.setBusy(pending.size > 0);
          reject(
            new TensorshareError('ERR_UNAVAILABLE', `instance ${o.id} of function '${fn}' is gone`, {
              function: fn,
              instance: o.id,
            }),
          );
        }
      });
      return { id, result };
    },
    cancel(id) {
      if (pending.has(id)) send({ type: 'cancel', id });
    },
    drain(reason) {
      if (state === 'exited' || state === 'draining') return;
      requestedExit = reason;
      const wasStarting = state === 'starting';
      state = 'draining';
      if (wasStarting) {
        child.kill('SIGKILL');
        return;
      }
      if (pending.size === 0) askExit();
      else later(o.drainTimeoutMs, () => child.kill('SIGKILL'));
    },
    kill(reason) {
      if (state === 'exited') return;
      requestedExit ??= reason;
      child.kill('SIGKILL');
    },
  };

  later(o.startTimeoutMs, () => {
    if (state !== 'starting') return;
    startError = new TensorshareError(
      'ERR_UNAVAILABLE',
      `instance of function '${fn}' did not become ready within ${o.startTimeoutMs} ms`,
      { function: fn },
    );
    child.kill('SIGKILL');
  });

  child.on('message', (m: FromInstance) => {
    switch (m.type) {
      case 'ready':
        if (state !== 'starting') return;
        readyAt = performance.now();
        readyInfo = m;
        state = 'ready';
        o.onReady(inst);
        break;
      case 'fatal':
        // Whatever broke the start (a model gone from the store, a handler's setup), the function is unavailable now.
        startError = new TensorshareError('ERR_UNAVAILABLE', `function '${fn}' failed to start: ${m.error.message}`, {
          function: fn,
          cause: m.error.code,
        });
        child.kill('SIGKILL');
        break;
      case 'result':
      case 'error': {
        const p = pending.get(m.id);
        if (!p) {
          if (m.type === 'result' && resultSlots(m.outputs).length)
            send({ type: 'release', slots: resultSlots(m.outputs) });
          return;
        }
        pending.delete(m.id);
        // The child has read its inputs: their ranges are free again.
        for (const s of p.slots) shm?.toChild.release(s);
        memory?.setBusy(pending.size > 0);
        lastUsedAt = performance.now();
        if (pending.size === 0) o.onIdle?.(inst);
        if (m.type === 'result') {
          // Large outputs are read on the thread pool: this process's event loop also answers health checks.
          const slots = resultSlots(m.outputs);
          takeResult(shm?.fromChild, m.outputs, o.readBuffers)
            .finally(() => {
              if (slots.length) send({ type: 'release', slots });
            })
            .then(
              (o) =>
                p.resolve({
                  outputs: o,
                  parameters: m.parameters,
                  runMs: m.runMs,
                  device: m.device,
                  ...(m.formatMs !== undefined ? { formatMs: m.formatMs } : {}),
                }),
              (e: Error) => p.reject(e),
            );
        } else p.reject(errorFromWire(m.error, fn));
        if (state === 'draining' && pending.size === 0) askExit();
        break;
      }
    }
  });

  let ended = false;
  const onEnd = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
    if (ended) return;
    ended = true;
    const wasReady = readyAt !== undefined;
    state = 'exited';
    for (const t of timers) clearTimeout(t);
    const reason: ExitReason = requestedExit ?? (wasReady ? 'crash' : 'start-failed');
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const outOfMemory = memory?.exceeded();
    memory?.release();
    for (const p of pending.values()) {
      p.reject(
        outOfMemory
          ? new TensorshareError(
              'ERR_RESOURCE_EXHAUSTED',
              `instance ${o.id} of function '${fn}' ${outOfMemory} while serving this request`,
              { function: fn, instance: o.id, reason, memoryLimitMb: d.config.memoryLimitMb },
            )
          : new TensorshareError(
              'ERR_UNAVAILABLE',
              `instance ${o.id} of function '${fn}' exited (${how}) while serving this request`,
              { function: fn, instance: o.id, reason },
            ),
      );
    }
    pending.clear();
    shm?.close();
    let error: TensorshareError | undefined;
    if (reason === 'start-failed') {
      error =
        startError ??
        new TensorshareError(
          'ERR_UNAVAILABLE',
          `instance of function '${fn}' exited (${how}) while starting${spawnError ? `: ${spawnError.message}` : ''}`,
          { function: fn },
        );
    }
    const info: ExitInfo = { reason, code, signal, error };
    o.onExit(inst, info);
    resolveExited(info);
  };
  child.on('exit', (code, signal) => onEnd(code, signal));
  child.on('error', (e) => {
    // Spawn failures end the instance; errors on a live channel surface as 'exit' too.
    if (child.pid === undefined) onEnd(null, null, e);
  });

  send({
    type: 'init',
    function: fn,
    version: d.version,
    dir: d.source.dir,
    handlerFile: d.source.handlerFile,
    models: Object.values(d.models).map((m) => ({ alias: m.alias, ref: m.ref, mode: m.mode })),
    repository: o.repository,
    store: o.store,
    opener: o.opener,
    intraOpThreads: d.config.intraOpThreads,
    config: d.config,
    metadata: d.metadata,
    shm: shm !== undefined,
  });
  return inst;
}

type ResultOutputs = Extract<FromInstance, { type: 'result' }>['outputs'];

/** Every slot of the result segment a result message holds: outputs' data and their JSON text. */
function resultSlots(outputs: ResultOutputs): Slot[] {
  const out = slotsOf(outputs);
  for (const t of outputs) for (const b of t.jsonText ?? []) if (slotOfBytes(b)) out.push(slotOfBytes(b)!);
  return out;
}

/** A result's outputs with their data and JSON text read out of the segment (large ones off the event loop). */
async function takeResult(
  reader: SegmentReader | undefined,
  outputs: ResultOutputs,
  pool: BufferPool | undefined,
): Promise<WithJsonText<Tensor>[]> {
  const tensors: Tensor[] = reader ? await takeTensorsAsync<Tensor>(reader, outputs) : (outputs as Tensor[]);
  return Promise.all(
    tensors.map(async (t, i): Promise<WithJsonText<Tensor>> => {
      const text = outputs[i]!.jsonText;
      if (!text) return t;
      const jsonText = reader
        ? await Promise.all(text.map((b) => takeBytesAsync(reader, b, pool)))
        : (text as Uint8Array[]);
      return { ...t, jsonText };
    }),
  );
}

/** A forked instance process and this side's ends of its segments, before it is told what to run. */
export interface InstanceProcess {
  child: ChildProcess;
  shm: ReturnType<typeof openSegments>;
}

export function forkInstanceProcess(o: Pick<InstanceOptions, 'env' | 'user' | 'shmDir'>): InstanceProcess {
  // Two segments, one per direction, each written by one side: the child gets them as fds 4 and 5.
  const shm = openSegments(o.shmDir);
  const child: ChildProcess = fork(CHILD_MODULE, [], {
    serialization: 'advanced',
    execArgv: [],
    env: { ...(o.env ?? process.env), ...INSTANCE_ENV },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...(shm ? [shm.toChild.fd, shm.fromChild.fd] : [])],
    ...o.user,
  });
  return { child, shm };
}

/** This side's ends of an instance's segments (files already unlinked: they go when both sides close them), or undefined without shared memory. */
function openSegments(dir: string | false | undefined) {
  if (dir === false) return undefined;
  let toChildFd: number | undefined;
  try {
    toChildFd = createSegmentFile(dir);
    const fromChildFd = createSegmentFile(dir);
    const toChild = segmentWriter(toChildFd);
    const fromChild = segmentReader(fromChildFd);
    return {
      toChild,
      fromChild,
      close() {
        toChild.close();
        fromChild.close();
      },
    };
  } catch {
    // No tmpfs to put them in: tensors travel inside the messages, as they always could.
    if (toChildFd !== undefined) segmentWriter(toChildFd).close();
    return undefined;
  }
}
