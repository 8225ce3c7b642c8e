// Scheduling in the serving path: every inference request goes through one
// scheduler (src/sched) between the gateway's backend and the runtime, and
// waits nowhere else.
//
//   gateway -> backend.infer -> scheduling.infer
//     1. admission: an unknown function is ERR_MODEL_NOT_FOUND, one being
//        unloaded or failed ERR_UNAVAILABLE; a loading one is queued too,
//        with no slots until its instances are up (its requests run alone);
//     2. request parameters give the priority class, tenant and timeout; the
//        deadline is fixed once, at enqueue; the queue limit is checked once,
//        per priority class (each class of a function may queue
//        maxQueueLength: a besteffort backlog never refuses realtime);
//     3. scheduler.submit() queues it; the policy (fifo | priority | fair |
//        srtf) picks batches when a slot is free; a request still queued at
//        its timeout is rejected with ERR_TIMEOUT and never runs (the timeout
//        bounds the wait for dispatch, as Triton's does: a dispatched batch
//        runs to the end, so work started is never thrown away); a caller
//        that goes away leaves the queue;
//     4. execute(): a batch of several requests is concatenated along axis 0,
//        run with one runtime.run() on a free slot, and the outputs are
//        split back so every response holds exactly its own rows.
//   The runtime is the runner: it reports each function's slots (ready
//   instances x maxConcurrency; 0 during a cold start) and when nothing can
//   serve a function's waiting requests (they fail with its reason); the
//   scheduler's queue goes back to it as backlog, so the autoscaler sees
//   demand and a function at zero instances starts one.
import { TensorshareError, isTensorshareError } from '../errors.js';
import {
  type Batch,
  type Clock,
  type DispatcherSnapshot,
  type FunctionConfig as SchedFunctionConfig,
  type NamedTensors,
  type Policy,
  type PriorityClass,
  type Request,
  type Scheduler,
  cancelledError,
  concatInputs,
  createScheduler,
  isBatchable,
  realClock,
  shapeKey,
  splitOutputs,
  POLICIES,
} from '../sched/index.js';
import { BATCHING_DEFAULTS, FUNCTION_DEFAULTS, type FunctionConfig } from './functions/config.js';
import type { InferRequest, InferResponse, Tensor } from '../tensor/index.js';
import { batchJsonTextAsk, ownJsonText, type WithJsonTextAsk } from './protocol/json-text.js';
import type { Deployment, Logger, Runtime } from './runtime.js';

/** Request parameters the scheduler reads (and strips before the request reaches the instance). */
export const SCHEDULING_PARAMETERS = ['priority', 'timeout', 'timeout_ms', 'tenant'] as const;

export interface SchedulingOptions {
  runtime: Runtime;
  /** Default 'fifo'. */
  policy?: Policy;
  /** fair: weight per tenant (default 1). */
  tenantWeights?: Record<string, number>;
  /** Most batches running at once across all functions (default: unbounded, i.e. the functions' slots). */
  slots?: number;
  /** Let requests name their tenant with the `tenant` parameter (default false: the function's configured tenant). */
  tenantFromRequest?: boolean;
  /** priority: runs of a function besteffort leaves free while realtime requests for it keep coming (default 0). */
  realtimeReserve?: number;
  clock?: Clock;
  logger?: Logger;
  /**
   * Where a run of a function goes besides its own path: 'cpu' sends it to the CPU sessions of the function's
   * instances (the GPU -> CPU fallback of `device: auto` besteffort work, gpu-fallback.ts).
   */
  route?(fn: { device: unknown; models: readonly string[] }, priorities: readonly PriorityClass[]): 'cpu' | undefined;
  /** Gauges/histograms to keep current (see gateway/metrics.ts registerServingMetrics). */
  metrics?: {
    batchCap?: { set(labels: { function: string }, v: number): void };
    batchSize?: { observe(labels: { function: string }, v: number): void };
    /** Requests answered per function by where their models ran ('cpu' | 'gpu'). */
    requestsByDevice?: { inc(labels: { function: string; device: string }, v: number): void };
  };
}

/** How a function is scheduled, as decided from its deployment. */
export interface FunctionPlan {
  fn: string;
  version: string;
  /** Batched along axis 0, or why not. */
  batched: boolean;
  whyNotBatched?: string;
  config: SchedFunctionConfig;
  targetConcurrency: number;
  tenant: string;
  priority: PriorityClass;
  /** The function's `device` and its exact model references (the GPU -> CPU fallback reads them). */
  device: FunctionConfig['device'];
  models: readonly string[];
}

export interface Scheduling {
  infer(fn: string, request: InferRequest, opts?: { signal?: AbortSignal }): Promise<InferResponse>;
  /** The plan for `fn` (registers the current deployment first); undefined when not deployed. */
  plan(fn: string): FunctionPlan | undefined;
  snapshot(): DispatcherSnapshot;
  /** Graceful: refuses new requests, runs (or expires) what is queued; resolves when nothing is queued or running. */
  close(): Promise<void>;
  /** Hard: rejects queued requests (ERR_UNAVAILABLE); batches already running finish. */
  destroy(): void;
}

interface Payload {
  request: InferRequest;
  signal?: AbortSignal;
  /** performance.now() at admission: the runner tells from it whether the request waited for a cold start. */
  arrivedAt: number;
}

export interface RequestScheduling {
  priority?: PriorityClass;
  timeoutMs?: number;
  tenant?: string;
  /** The request's other parameters (what the instance gets). */
  parameters: Record<string, string | number | boolean>;
}

/**
 * A request's priority: a class name, or a level of Triton's schedule-policy
 * extension as its clients send it (an integer, as a string over gRPC's
 * uint64): 1 is the highest level, 0 means the function's own. undefined:
 * keep the function's; null: not a priority.
 */
function priorityClass(v: string | number | boolean): PriorityClass | undefined | null {
  if (v === 'realtime' || v === 'besteffort') return v;
  const level = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(level) || level < 0) return null;
  return level === 0 ? undefined : level === 1 ? 'realtime' : 'besteffort';
}

const bad = (message: string, details: Record<string, unknown> = {}) =>
  new TensorshareError('ERR_INVALID_ARGUMENT', message, details);

/**
 * Reads the scheduling parameters of a request: `priority` ('realtime' |
 * 'besteffort'), `timeout` (microseconds, as Triton's; 0 = the function's
 * default) or `timeout_ms`, and `tenant` when `allowTenant`. Throws
 * ERR_INVALID_ARGUMENT naming the parameter.
 */
export function parseSchedulingParameters(
  params: Record<string, string | number | boolean> | undefined,
  fn: string,
  allowTenant = false,
): RequestScheduling {
  const out: RequestScheduling = { parameters: {} };
  const p = params ?? {};
  for (const [k, v] of Object.entries(p))
    if (!(SCHEDULING_PARAMETERS as readonly string[]).includes(k)) out.parameters[k] = v;
  const where = `request to ${fn}: parameter`;
  if (p.priority !== undefined) {
    const priority = priorityClass(p.priority);
    if (priority === null)
      throw bad(
        `${where} 'priority' must be 'realtime' or 'besteffort', got ${JSON.stringify(p.priority)} (Triton's integer levels work too: 1 = realtime, 2 and above = besteffort, 0 = the function's own)`,
        { parameter: 'priority' },
      );
    if (priority !== undefined) out.priority = priority;
  }
  const num = (name: string): number | undefined => {
    const v = p[name];
    if (v === undefined) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < 0)
      throw bad(`${where} '${name}' must be a number >= 0, got ${JSON.stringify(v)}`, { parameter: name });
    return n;
  };
  const us = num('timeout');
  const ms = num('timeout_ms');
  if (us !== undefined && ms !== undefined)
    throw bad(`${where}s 'timeout' (microseconds) and 'timeout_ms' both given; use one`, { parameter: 'timeout' });
  if (us !== undefined && us > 0) out.timeoutMs = us / 1000;
  if (ms !== undefined && ms > 0) out.timeoutMs = ms;
  if (p.tenant !== undefined) {
    if (!allowTenant)
      throw bad(
        `${where} 'tenant' is not accepted: this server takes each function's tenant from its config (start it with --tenant-from-request to let requests name one)`,
        { parameter: 'tenant' },
      );
    if (typeof p.tenant !== 'string' || p.tenant.length === 0)
      throw bad(`${where} 'tenant' must be a non-empty string, got ${JSON.stringify(p.tenant)}`, {
        parameter: 'tenant',
      });
    out.tenant = p.tenant;
  }
  return out;
}

/** `--tenant-weight gold=2 --tenant-weight silver=1,bronze=0.5` -> { gold: 2, silver: 1, bronze: 0.5 }. */
export function parseTenantWeights(specs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const spec of specs) {
    for (const part of spec.split(',').filter(Boolean)) {
      const m = /^([^=\s]+)=(.+)$/.exec(part.trim());
      const w = m ? Number(m[2]) : NaN;
      if (!m || !(w > 0 && Number.isFinite(w))) {
        throw bad(`--tenant-weight takes tenant=weight with a weight > 0 (e.g. gold=2), got '${part}'`);
      }
      out[m[1]!] = w;
    }
  }
  return out;
}

/** The scheduler's view of a deployment: batching (or why not), queue limit, default timeout. */
export function planFor(d: Deployment): FunctionPlan {
  const c = d.config;
  const b = c.batching;
  let whyNotBatched: string | undefined;
  if (!b) whyNotBatched = 'its config has no batching section';
  else if (d.hasHandler && !b.handlerAcceptsBatches)
    whyNotBatched =
      'it has a handler (set batching.handlerAcceptsBatches when the handler takes requests concatenated along axis 0)';
  else if (!isBatchable({ inputs: d.metadata.inputs, outputs: d.metadata.outputs }))
    whyNotBatched = 'not every input and output has a dynamic first (batch) dimension';
  const batching =
    b && !whyNotBatched
      ? {
          maxBatchSize: b.maxBatchSize ?? BATCHING_DEFAULTS.maxBatchSize,
          maxQueueDelayMs: b.maxQueueDelayMs ?? BATCHING_DEFAULTS.maxQueueDelayMs,
          ...(b.preferredBatchSizes ? { preferredBatchSizes: b.preferredBatchSizes } : {}),
        }
      : null;
  const config: SchedFunctionConfig = {
    name: d.name,
    batching,
    ...(batching && b?.sloMs !== undefined
      ? {
          aimd: {
            sloMs: b.sloMs,
            ...(b.aimdStep !== undefined ? { step: b.aimdStep } : {}),
            ...(b.aimdBackoff !== undefined ? { backoff: b.aimdBackoff } : {}),
          },
        }
      : {}),
    // The runtime allows 0 (refuse whenever no instance is free); the scheduler needs room for the request being placed.
    maxQueueLength: Math.max(1, c.maxQueueLength),
    defaultTimeoutMs: c.requestTimeoutMs,
    // Registration replaces it with the runner's slots.
    maxConcurrency: 1,
  };
  return {
    fn: d.name,
    version: d.version,
    batched: batching !== null,
    ...(whyNotBatched ? { whyNotBatched } : {}),
    config,
    targetConcurrency: c.targetConcurrency,
    tenant: c.tenant,
    priority: c.priority,
    device: c.device,
    models: d.models,
  };
}

/** Key of everything past axis 0 that must match for requests to share a run: input shapes/types, requested outputs, other parameters. */
export function batchKey(request: InferRequest, parameters: Record<string, unknown>): string {
  const canon = (o: Record<string, unknown> | undefined) =>
    JSON.stringify(
      Object.keys(o ?? {})
        .sort()
        .map((k) => [k, o![k]]),
    );
  const inputs = shapeKey(namedTensors(request.inputs));
  const inputParams = request.inputs
    .filter((t) => t.parameters && Object.keys(t.parameters).length)
    .map((t) => `${t.name}=${canon(t.parameters)}`)
    .sort()
    .join(',');
  const outputs = (request.outputs ?? [])
    .map((o) => `${o.name}=${canon(o.parameters)}`)
    .sort()
    .join(',');
  return `${inputs}|${inputParams}|${outputs}|${canon(parameters)}`;
}

function namedTensors(ts: readonly Tensor[]): NamedTensors {
  const out: NamedTensors = {};
  for (const t of ts)
    out[t.name] = { datatype: t.datatype, shape: t.shape, data: t.data as NamedTensors[string]['data'] };
  return out;
}

export function createScheduling(o: SchedulingOptions): Scheduling {
  const rt = o.runtime;
  const clock = o.clock ?? realClock;
  const log = o.logger;
  const policy = o.policy ?? 'fifo';
  if (!POLICIES.includes(policy))
    throw bad(`unknown scheduling policy '${policy}'; expected one of ${POLICIES.join(', ')}`);
  if (o.slots !== undefined && !(Number.isInteger(o.slots) && o.slots >= 1))
    throw bad(`slots must be an integer >= 1, got ${o.slots}`);
  /** Registered functions; `undefined` while one is still loading (no deployment to plan from). */
  const plans = new Map<string, FunctionPlan | undefined>();
  let solo = 0;

  const scheduler: Scheduler<Payload, InferResponse> = createScheduler<Payload, InferResponse>({
    policy,
    slots: o.slots ?? Infinity,
    clock,
    fair: { weights: o.tenantWeights ?? {} },
    ...(o.realtimeReserve ? { priorityReserve: { runs: o.realtimeReserve } } : {}),
    execute,
  });

  const forget = (fn: string) => {
    plans.delete(fn);
    scheduler.unregister(fn);
  };
  // The runner's side: slots to dispatch against, and requests nothing can serve.
  const unwatch = rt.watch({
    slots(fn, n) {
      if (!plans.has(fn)) return;
      sync(fn);
      scheduler.setConcurrency(fn, n);
    },
    unservable(fn, error) {
      if (!plans.has(fn)) return;
      scheduler.rejectQueued(fn, error);
      if (!rt.deployment(fn)) forget(fn); // gone, or it never deployed: admission answers from now on
    },
  });

  /** Registers the current deployment of `fn` with the scheduler (once per version); undefined while it has none. */
  function sync(fn: string): FunctionPlan | undefined {
    const d = rt.deployment(fn);
    const cur = plans.get(fn);
    if (!d) return undefined;
    if (cur?.version === d.version) return cur;
    const plan = planFor(d);
    if (d.config.batching && !plan.batched)
      log?.warn({ function: fn, version: d.version }, `function ${fn} is not batched: ${plan.whyNotBatched}`);
    else if (plan.batched)
      log?.info(
        { function: fn, version: d.version, batching: plan.config.batching, aimd: plan.config.aimd ?? null },
        `function ${fn} batches requests along axis 0`,
      );
    scheduler.register({ ...plan.config, maxConcurrency: rt.slots(fn) });
    plans.set(fn, plan);
    o.metrics?.batchCap?.set({ function: fn }, scheduler.cap(fn));
    return plan;
  }

  /** A loading function waits with no slots, under the defaults, until its deployment is known. */
  function registerLoading(fn: string): void {
    if (plans.has(fn)) return;
    scheduler.register({
      name: fn,
      batching: null,
      maxQueueLength: FUNCTION_DEFAULTS.maxQueueLength,
      defaultTimeoutMs: FUNCTION_DEFAULTS.requestTimeoutMs,
      maxConcurrency: 0,
    });
    plans.set(fn, undefined);
  }

  /** Admission: the function's plan, or why it takes no requests. */
  function admit(fn: string): FunctionPlan | undefined {
    const st = rt.status(fn);
    if (!st) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `function '${fn}' not found`, { function: fn });
    if (st.state === 'UNLOADING')
      throw new TensorshareError('ERR_UNAVAILABLE', `function '${fn}' is being unloaded`, { function: fn });
    const plan = sync(fn);
    if (plan) return plan;
    if (st.state !== 'LOADING')
      throw new TensorshareError('ERR_UNAVAILABLE', `function '${fn}' is unavailable: ${st.reason ?? 'not deployed'}`, {
        function: fn,
      });
    registerLoading(fn);
    return undefined;
  }

  // Backlog and the cap gauge, refreshed once per tick for the functions that changed.
  const dirty = new Set<string>();
  let flushing = false;
  function touch(fn: string): void {
    dirty.add(fn);
    if (flushing) return;
    flushing = true;
    queueMicrotask(() => {
      flushing = false;
      const snap = scheduler.snapshot();
      for (const f of dirty) {
        const s = snap.functions.find((x) => x.fn === f);
        if (!s) continue;
        rt.setBacklog(f, Math.ceil(s.queued / Math.max(1, s.cap)));
        o.metrics?.batchCap?.set({ function: f }, s.cap);
      }
      dirty.clear();
    });
  }

  /** Why a request timed out in the queue, from the function's instances. */
  function timedOut(fn: string, e: TensorshareError): TensorshareError {
    const c = rt.status(fn)?.instances;
    const why =
      !c || c.ready + c.starting === 0
        ? 'no instance could be started'
        : c.ready === 0
          ? 'waiting for an instance to start'
          : 'all instances busy';
    return new TensorshareError(
      'ERR_TIMEOUT',
      `request to function '${fn}' timed out after ${Math.round(Number(e.details.timeoutMs))} ms in the queue (${why}): ${e.message}`,
      { ...e.details, function: fn },
    );
  }

  // Called by the scheduler in the turn it found a free slot: runtime.run() takes the slot at once.
  async function execute(
    fn: string,
    requests: readonly Request<Payload>[],
    batch: Batch<Payload>,
  ): Promise<ReadonlyArray<InferResponse | Error>> {
    touch(fn);
    const results: Array<InferResponse | Error> = requests.map((r) => cancelledError(r));
    // A caller that went away after it was dispatched is not run.
    const live = requests.map((r, i) => ({ r, i })).filter(({ r }) => !r.payload.signal?.aborted);
    if (live.length === 0) return results;
    const waited = (r: Request<Payload>) => batch.dispatchedAt - r.enqueuedAt;
    const withQueue = (res: InferResponse, r: Request<Payload>): InferResponse => ({
      ...res,
      ...(r.payload.request.id !== undefined ? { id: r.payload.request.id } : {}),
      timing: { ...res.timing, queueMs: waited(r) + (res.timing?.queueMs ?? 0), runMs: res.timing?.runMs ?? 0 },
    });
    o.metrics?.batchSize?.observe(
      { function: fn },
      live.reduce((a, { r }) => a + r.items, 0),
    );
    const plan = plans.get(fn);
    const device =
      plan && o.route
        ? o.route(
            plan,
            live.map(({ r }) => r.priority),
          )
        : undefined;
    const counted = (res: InferResponse, n: number): InferResponse => {
      if (res.timing?.device) o.metrics?.requestsByDevice?.inc({ function: fn, device: res.timing.device }, n);
      return res;
    };

    if (live.length === 1) {
      const { r, i } = live[0]!;
      try {
        results[i] = withQueue(
          counted(
            await rt.run(fn, r.payload.request, {
              signal: r.payload.signal,
              arrivedAt: r.payload.arrivedAt,
              priority: r.priority,
              ...(device ? { device } : {}),
            }),
            1,
          ),
          r,
        );
      } catch (e) {
        results[i] = e as Error;
      }
      return results;
    }

    const first = live[0]!.r.payload.request;
    const { inputs, sizes } = concatInputs(live.map(({ r }) => namedTensors(r.payload.request.inputs)));
    const jsonText = batchJsonTextAsk(
      live.map(({ r }) => (r.payload.request as WithJsonTextAsk<InferRequest>).jsonText),
      sizes,
    );
    const batched: WithJsonTextAsk<InferRequest> = {
      inputs: first.inputs.map((t) => ({
        ...t,
        shape: inputs[t.name]!.shape,
        data: inputs[t.name]!.data as Tensor['data'],
      })),
      ...(first.outputs ? { outputs: first.outputs } : {}),
      ...(first.parameters ? { parameters: first.parameters } : {}),
      ...(jsonText ? { jsonText } : {}),
    };
    let res: InferResponse;
    let parts: NamedTensors[];
    try {
      res = counted(
        await rt.run(fn, batched, {
          arrivedAt: Math.min(...live.map(({ r }) => r.payload.arrivedAt)),
          // A batch with a realtime request in it runs as realtime on an executor.
          priority: live.some(({ r }) => r.priority === 'realtime') ? 'realtime' : 'besteffort',
          ...(device ? { device } : {}),
        }),
        live.length,
      );
      parts = splitBatch(fn, res, sizes);
    } catch (e) {
      for (const { i } of live) results[i] = e as Error; // the batch failed for everyone in it (callers gone before it ran keep their own answer)
      return results;
    }
    live.forEach(({ r, i }, k) => {
      const part = parts[k]!;
      results[i] = withQueue(
        {
          ...res,
          outputs: res.outputs.map((t) => ({
            ...ownJsonText(t, k),
            shape: part[t.name]!.shape,
            data: part[t.name]!.data as Tensor['data'],
          })),
        },
        r,
      );
    });
    return results;
  }

  return {
    plan: sync,
    async infer(fn, request, opts = {}) {
      const plan = admit(fn);
      const s = parseSchedulingParameters(request.parameters, fn, o.tenantFromRequest);
      const forward: InferRequest = { ...request, parameters: s.parameters };
      if (Object.keys(s.parameters).length === 0) delete forward.parameters;
      const first = request.inputs[0];
      const rows = plan?.batched && first && first.shape.length > 0 ? first.shape[0]! : 1;
      // No plan yet (loading: batching unknown), or zero rows: the request runs alone, in its turn.
      const alone = !plan || (plan.batched && rows === 0);
      const p = scheduler.submit(
        {
          fn,
          payload: { request: forward, signal: opts.signal, arrivedAt: performance.now() },
          ...(request.id !== undefined ? { id: request.id } : {}),
          tenant: s.tenant ?? plan?.tenant ?? FUNCTION_DEFAULTS.tenant,
          priority: s.priority ?? plan?.priority ?? FUNCTION_DEFAULTS.priority,
          ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
          items: Math.max(1, rows),
          shapeKey: alone ? `alone:${++solo}` : plan.batched ? batchKey(forward, s.parameters) : '',
        },
        { signal: opts.signal },
      );
      touch(fn);
      try {
        return await p;
      } catch (e) {
        throw isTensorshareError(e, 'ERR_TIMEOUT') && e.details.expired === true ? timedOut(fn, e) : e;
      } finally {
        touch(fn);
      }
    },
    snapshot: () => scheduler.snapshot(),
    async close() {
      await scheduler.close();
      unwatch();
    },
    destroy() {
      unwatch();
      scheduler.destroy();
    },
  };
}

/** The outputs of a batched run, split back into each request's rows. */
function splitBatch(fn: string, res: InferResponse, sizes: number[]): NamedTensors[] {
  try {
    return splitOutputs(namedTensors(res.outputs), sizes);
  } catch (e) {
    throw new TensorshareError(
      'ERR_INTERNAL',
      `function '${fn}' answered a batch of ${sizes.length} requests (${sizes.reduce((a, b) => a + b, 0)} rows) with outputs that do not have the batch on axis 0 (${res.outputs.map((t) => `${t.name} [${t.shape}]`).join(', ')}): ${(e as Error).message}`,
      { function: fn },
      { cause: e },
    );
  }
}
