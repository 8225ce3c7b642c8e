// The scheduling glue on its own: request parameters, the plan made from a
// deployment, batch keys, and createScheduling() over a fake runtime driven by
// a fake clock (timeouts, batching and splitting, concurrency following the
// runner's slots, backlog, cancelled callers).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TensorshareError } from '../errors.js';
import { createFakeClock } from '../sched/index.js';
import { FUNCTION_DEFAULTS, type FunctionConfig } from './functions/config.js';
import type { InferRequest, InferResponse } from '../tensor/index.js';
import type { Deployment, RunOptions, Runtime, RunnerListener } from './runtime.js';
import { batchKey, createScheduling, parseSchedulingParameters, parseTenantWeights, planFor } from './scheduling.js';

const CONFIG: FunctionConfig = { ...FUNCTION_DEFAULTS, models: { model: { ref: 'm' } }, maxConcurrency: 1 };

function deployment(over: Partial<FunctionConfig> = {}, o: { handler?: boolean; firstDim?: number } = {}): Deployment {
  const d = o.firstDim ?? -1;
  return {
    name: 'f',
    version: '1',
    config: { ...CONFIG, ...over },
    hasHandler: o.handler ?? false,
    models: ['m:1'],
    metadata: {
      name: 'f',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [d, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [d, 2] }],
    },
  };
}

const req = (rows: number[][], parameters?: Record<string, string | number | boolean>, id?: string): InferRequest => ({
  ...(id ? { id } : {}),
  inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 2], data: Float32Array.from(rows.flat()) }],
  outputs: [{ name: 'y' }],
  ...(parameters ? { parameters } : {}),
});

describe('scheduling parameters', () => {
  test('priority, Triton timeout (µs) or timeout_ms, tenant; the rest passes through', () => {
    assert.deepEqual(parseSchedulingParameters({ priority: 'besteffort', timeout: 250_000, keep: 'me' }, 'f'), {
      priority: 'besteffort',
      timeoutMs: 250,
      parameters: { keep: 'me' },
    });
    assert.deepEqual(parseSchedulingParameters({ timeout_ms: '40' }, 'f'), { timeoutMs: 40, parameters: {} });
    assert.deepEqual(
      parseSchedulingParameters({ timeout: 0 }, 'f'),
      { parameters: {} },
      'timeout 0: the function default, as in Triton',
    );
    assert.deepEqual(parseSchedulingParameters(undefined, 'f'), { parameters: {} });
    assert.deepEqual(parseSchedulingParameters({ tenant: 'gold' }, 'f', true), { tenant: 'gold', parameters: {} });
  });

  test("Triton's integer priority levels (tritonclient's priority=): 1 realtime, 2+ besteffort, 0 the function's", () => {
    assert.deepEqual(parseSchedulingParameters({ priority: 1 }, 'f'), { priority: 'realtime', parameters: {} });
    assert.deepEqual(parseSchedulingParameters({ priority: 2 }, 'f'), { priority: 'besteffort', parameters: {} });
    assert.deepEqual(parseSchedulingParameters({ priority: '7' }, 'f'), { priority: 'besteffort', parameters: {} });
    assert.deepEqual(parseSchedulingParameters({ priority: 0 }, 'f'), { parameters: {} });
    for (const priority of [-1, 1.5, '1e3', true])
      assert.throws(
        () => parseSchedulingParameters({ priority }, 'f'),
        (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && /'priority' must be/.test(e.message),
        String(priority),
      );
  });

  test('bad values are ERR_INVALID_ARGUMENT naming the parameter', () => {
    const bad = (p: Record<string, string | number | boolean>, re: RegExp, allowTenant = false) =>
      assert.throws(
        () => parseSchedulingParameters(p, 'f', allowTenant),
        (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && re.test(e.message),
      );
    bad({ priority: 'high' }, /request to f: parameter 'priority' must be 'realtime' or 'besteffort', got "high"/);
    bad({ timeout: -5 }, /parameter 'timeout' must be a number >= 0, got -5/);
    bad({ timeout_ms: 'soon' }, /parameter 'timeout_ms' must be a number >= 0, got "soon"/);
    bad({ timeout: 5, timeout_ms: 5 }, /'timeout' \(microseconds\) and 'timeout_ms' both given/);
    bad({ tenant: 'x' }, /'tenant' is not accepted: .*--tenant-from-request/);
    bad({ tenant: '' }, /'tenant' must be a non-empty string/, true);
  });

  test('tenant weights from the command line', () => {
    assert.deepEqual(parseTenantWeights(['gold=2', 'silver=1,bronze=0.5']), { gold: 2, silver: 1, bronze: 0.5 });
    assert.throws(() => parseTenantWeights(['gold']), /--tenant-weight takes tenant=weight/);
    assert.throws(() => parseTenantWeights(['gold=0']), /weight > 0/);
  });
});

describe('function plans', () => {
  test('batched only with a batching section, a batch axis everywhere, and no handler unless it opts in', () => {
    assert.equal(planFor(deployment()).batched, false);
    assert.match(planFor(deployment()).whyNotBatched!, /no batching section/);
    const p = planFor(deployment({ batching: {} }));
    assert.deepEqual(p.config.batching, { maxBatchSize: 8, maxQueueDelayMs: 0 });
    assert.equal(p.config.aimd, undefined);
    assert.match(
      planFor(deployment({ batching: {} }, { handler: true })).whyNotBatched!,
      /has a handler .*handlerAcceptsBatches/,
    );
    assert.equal(planFor(deployment({ batching: { handlerAcceptsBatches: true } }, { handler: true })).batched, true);
    assert.match(
      planFor(deployment({ batching: {} }, { firstDim: 1 })).whyNotBatched!,
      /dynamic first \(batch\) dimension/,
    );
  });

  test('AIMD, queue limit, timeout and concurrency settings map to the scheduler', () => {
    const p = planFor(
      deployment({
        batching: {
          maxBatchSize: 32,
          maxQueueDelayMs: 3,
          preferredBatchSizes: [16],
          sloMs: 40,
          aimdStep: 2,
          aimdBackoff: 0.2,
        },
        maxQueueLength: 0,
        requestTimeoutMs: 900,
        targetConcurrency: 2,
        tenant: 't',
        priority: 'besteffort',
      }),
    );
    assert.deepEqual(p.config, {
      name: 'f',
      batching: { maxBatchSize: 32, maxQueueDelayMs: 3, preferredBatchSizes: [16] },
      aimd: { sloMs: 40, step: 2, backoff: 0.2 },
      maxQueueLength: 1,
      defaultTimeoutMs: 900,
      maxConcurrency: 1,
    });
    assert.equal(p.targetConcurrency, 2);
    assert.equal(p.tenant, 't');
    assert.equal(p.priority, 'besteffort');
  });

  test('requests batch together only when everything past axis 0 matches', () => {
    const k = (r: InferRequest, p: Record<string, unknown> = {}) => batchKey(r, p);
    assert.equal(
      k(req([[1, 2]])),
      k(
        req([
          [3, 4],
          [5, 6],
        ]),
      ),
      'rows do not matter',
    );
    const three: InferRequest = {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) }],
      outputs: [{ name: 'y' }],
    };
    assert.notEqual(k(req([[1, 2]])), k(three), 'trailing shape');
    assert.notEqual(k(req([[1, 2]])), k({ ...req([[1, 2]]), outputs: [{ name: 'z' }] }), 'requested outputs');
    assert.notEqual(k(req([[1, 2]]), { a: 1 }), k(req([[1, 2]]), { a: 2 }), 'other parameters');
    assert.equal(k(req([[1, 2]]), { a: 1, b: 2 }), k(req([[1, 2]]), { b: 2, a: 1 }), 'parameter order does not');
  });
});

describe('createScheduling over a fake runtime', () => {
  function setup(over: Partial<FunctionConfig> = {}, policy: 'fifo' | 'priority' = 'fifo') {
    const clock = createFakeClock(1000);
    let runner: RunnerListener | undefined;
    const calls: {
      request: InferRequest;
      opts: RunOptions | undefined;
      resolve(r: InferResponse): void;
      reject(e: Error): void;
    }[] = [];
    const backlog: number[] = [];
    let ready = 1;
    const dep = deployment({ batching: { maxBatchSize: 4 }, ...over });
    const rt = {
      watch(l: RunnerListener) {
        runner = l;
        return () => {
          runner = undefined;
        };
      },
      deployment: (fn: string) => (fn === 'f' ? dep : undefined),
      status: (fn: string) =>
        fn === 'f'
          ? { name: 'f', version: '1', state: 'READY', instances: { starting: 0, ready, draining: 0 } }
          : undefined,
      slots: (fn: string) => (fn === 'f' ? ready * dep.config.maxConcurrency : 0),
      run: (_fn: string, request: InferRequest, opts?: RunOptions) =>
        new Promise<InferResponse>((resolve, reject) => calls.push({ request, opts, resolve, reject })),
      setBacklog: (_fn: string, n: number) => backlog.push(n),
    } as unknown as Runtime;
    const s = createScheduling({ runtime: rt, clock, policy });
    return {
      clock,
      calls,
      backlog,
      s,
      setReady(n: number) {
        ready = n;
        runner?.slots('f', n * dep.config.maxConcurrency);
      },
    };
  }
  const settle = () => new Promise((r) => setImmediate(r));
  /** y = 2x, shaped like x (a model with the batch on axis 0). */
  const doubled = (r: InferRequest): InferResponse => {
    const x = r.inputs[0]!;
    return {
      outputs: [
        { name: 'y', datatype: 'FP32', shape: x.shape, data: Float32Array.from(x.data as Float32Array, (v) => v * 2) },
      ],
      timing: { queueMs: 1, runMs: 5 },
    };
  };

  test('queued requests form one batch; each caller gets its own rows, id and queue time', async () => {
    const { clock, calls, s } = setup();
    const first = s.infer('f', req([[0, 0]], {}, 'a'));
    await settle();
    assert.equal(calls.length, 1, 'the first request runs at once');
    const rest = [
      s.infer('f', req([[1, 2]], {}, 'b')),
      s.infer(
        'f',
        req(
          [
            [3, 4],
            [5, 6],
          ],
          { priority: 'realtime' },
          'c',
        ),
      ),
      s.infer('f', req([[7, 8]], {}, 'd')),
    ];
    clock.advance(7);
    calls[0]!.resolve(doubled(calls[0]!.request));
    assert.deepEqual([...((await first).outputs[0]!.data as Float32Array)], [0, 0]);
    await settle();
    assert.equal(calls.length, 2, 'the three queued requests ran as one batch');
    const batch = calls[1]!.request;
    assert.deepEqual(batch.inputs[0]!.shape, [4, 2]);
    assert.deepEqual([...(batch.inputs[0]!.data as Float32Array)], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(batch.parameters, undefined, 'scheduling parameters do not reach the instance');
    calls[1]!.resolve(doubled(batch));
    const [b, c, d] = await Promise.all(rest);
    assert.deepEqual([b!.id, c!.id, d!.id], ['b', 'c', 'd']);
    assert.deepEqual(c!.outputs[0]!.shape, [2, 2]);
    assert.deepEqual([...(c!.outputs[0]!.data as Float32Array)], [6, 8, 10, 12]);
    assert.deepEqual([...(d!.outputs[0]!.data as Float32Array)], [14, 16]);
    assert.equal(b!.timing!.queueMs, 7 + 1, "scheduler wait + the pool's");
    s.destroy();
  });

  test('a besteffort backlog that fills its queue refuses besteffort only: realtime is admitted and runs first', async () => {
    const { calls, s } = setup({ batching: undefined, maxQueueLength: 2 }, 'priority');
    const busy = s.infer('f', req([[0, 0]]));
    await settle();
    const be = [1, 2].map((k) => s.infer('f', req([[k, k]], { priority: 'besteffort' })));
    await assert.rejects(
      s.infer('f', req([[3, 3]], { priority: 'besteffort' })),
      (e: Error & { code?: string }) =>
        e.code === 'ERR_OVERLOADED' &&
        /2 requests already queued \(maxQueueLength 2\) in its besteffort queue/.test(e.message),
    );
    const rtReq = s.infer('f', req([[4, 4]], { priority: 'realtime' }));
    await settle();
    calls[0]!.resolve(doubled(calls[0]!.request));
    await busy;
    await settle();
    assert.deepEqual(
      [...(calls[1]!.request.inputs[0]!.data as Float32Array)],
      [4, 4],
      'realtime runs before the backlog',
    );
    for (let i = 1; i < 4; i++) {
      calls[i]!.resolve(doubled(calls[i]!.request));
      await settle();
    }
    await Promise.all([rtReq, ...be]);
    s.destroy();
  });

  test('a request past its timeout is rejected with ERR_TIMEOUT and never reaches the runtime', async () => {
    const { clock, calls, s } = setup({ batching: undefined });
    const slow = s.infer('f', req([[1, 1]]));
    await settle();
    const late = s.infer('f', req([[2, 2]], { timeout: 50_000 }));
    const lateErr = assert.rejects(
      late,
      (e: Error & { code?: string }) =>
        e.code === 'ERR_TIMEOUT' && /past its timeout of 50 ms; it was not run/.test(e.message),
    );
    clock.advance(60);
    await lateErr;
    calls[0]!.resolve(doubled(calls[0]!.request));
    await slow;
    await settle();
    assert.equal(calls.length, 1);
    s.destroy();
  });

  test('concurrency follows ready instances; the backlog reaches the runtime in batches', async () => {
    const { calls, backlog, s, setReady } = setup({ batching: { maxBatchSize: 2 } });
    const all = Array.from({ length: 7 }, (_, k) => s.infer('f', req([[k, k]])));
    await settle();
    assert.equal(calls.length, 1, 'one instance ready: one run at a time');
    assert.equal(backlog.at(-1), 3, '6 queued requests at cap 2: 3 runs');
    setReady(3);
    await settle();
    assert.equal(calls.length, 3, 'three instances: three runs at once');
    for (let i = 0; i < 8 && calls.some((c) => c); i++) {
      for (const c of calls.splice(0)) c.resolve(doubled(c.request));
      await settle();
    }
    assert.equal((await Promise.all(all)).length, 7);
    assert.equal(backlog.at(-1), 0);
    s.destroy();
  });

  test('a batch answered without the batch on axis 0 fails every request with ERR_INTERNAL; a caller gone while queued is not run', async () => {
    const { calls, s } = setup();
    const first = s.infer('f', req([[0, 0]]));
    await settle();
    const ac = new AbortController();
    const gone = s.infer('f', req([[9, 9]]), { signal: ac.signal });
    const goneErr = assert.rejects(
      gone,
      (e: Error & { code?: string }) =>
        e.code === 'ERR_UNAVAILABLE' && /cancelled by its caller before it ran/.test(e.message),
    );
    const a = s.infer('f', req([[1, 1]]));
    const b = s.infer('f', req([[2, 2]]));
    ac.abort();
    calls[0]!.resolve(doubled(calls[0]!.request));
    await first;
    await settle();
    assert.deepEqual(
      [...(calls[1]!.request.inputs[0]!.data as Float32Array)],
      [1, 1, 2, 2],
      'the cancelled request is left out',
    );
    calls[1]!.resolve({ outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: new Float32Array(2) }] });
    for (const p of [a, b])
      await assert.rejects(
        p,
        (e: Error & { code?: string }) =>
          e.code === 'ERR_INTERNAL' && /do not have the batch on axis 0/.test(e.message),
      );
    await goneErr;
    s.destroy();
  });
});

describe('admission: every request goes through the scheduler', () => {
  /** A runtime whose function `f` is loading: no deployment, no slots, until deploy(). */
  function loadingRuntime() {
    let runner: RunnerListener | undefined;
    let dep: Deployment | undefined;
    let state: 'LOADING' | 'READY' | 'UNAVAILABLE' | undefined = 'LOADING';
    let ready = 0;
    let reason: string | undefined;
    const runs: { request: InferRequest; resolve(r: InferResponse): void }[] = [];
    const rt = {
      watch(l: RunnerListener) {
        runner = l;
        return () => {
          runner = undefined;
        };
      },
      deployment: (fn: string) => (fn === 'f' ? dep : undefined),
      status: (fn: string) =>
        fn === 'f' && state
          ? {
              name: 'f',
              state,
              ...(reason ? { reason } : {}),
              instances: { starting: state === 'LOADING' ? 0 : 1 - ready, ready, draining: 0 },
            }
          : undefined,
      slots: () => ready,
      run: (_fn: string, request: InferRequest) =>
        new Promise<InferResponse>((resolve) => runs.push({ request, resolve })),
      setBacklog() {},
    } as unknown as Runtime;
    return {
      rt,
      runs,
      deploy(d: Deployment) {
        dep = d;
        state = 'READY';
      },
      instanceReady() {
        ready = 1;
        runner?.slots('f', 1);
      },
      /** The function failed to deploy (`why`), or is gone from the runtime. */
      fail(error: TensorshareError, why?: string) {
        state = why ? 'UNAVAILABLE' : undefined;
        reason = why;
        runner?.unservable('f', error);
      },
    };
  }
  const settle = () => new Promise((r) => setImmediate(r));
  const echo = (r: InferRequest): InferResponse => ({ outputs: r.inputs.map((t) => ({ ...t, name: 'y' })) });

  test('an unknown function is ERR_MODEL_NOT_FOUND; a failed one ERR_UNAVAILABLE with its reason; nothing is queued', async () => {
    const f = loadingRuntime();
    const s = createScheduling({ runtime: f.rt, clock: createFakeClock() });
    await assert.rejects(s.infer('nope', req([[1, 1]])), {
      code: 'ERR_MODEL_NOT_FOUND',
      message: "function 'nope' not found",
    });
    f.fail(new TensorshareError('ERR_UNAVAILABLE', 'bad config'), 'functions/f/config.json: bad');
    await assert.rejects(s.infer('f', req([[1, 1]])), {
      code: 'ERR_UNAVAILABLE',
      message: "function 'f' is unavailable: functions/f/config.json: bad",
    });
    assert.equal(s.snapshot().functions.length, 0);
    s.destroy();
  });

  test('a loading function queues with zero slots; its requests run when its first instance is ready', async () => {
    const f = loadingRuntime();
    const clock = createFakeClock();
    const s = createScheduling({ runtime: f.rt, clock });
    const a = s.infer('f', req([[1, 2]], {}, 'a'));
    const b = s.infer('f', req([[3, 4]], {}, 'b'));
    await settle();
    assert.equal(f.runs.length, 0, 'no slots while loading');
    assert.deepEqual(
      s.snapshot().functions.map((x) => [x.fn, x.queued, x.concurrency]),
      [['f', 2, 0]],
    );
    f.deploy(deployment({ batching: { maxBatchSize: 4 } }));
    clock.advance(5);
    f.instanceReady();
    await settle();
    assert.equal(f.runs.length, 1, 'one slot: one run; requests queued before the plan run alone');
    assert.deepEqual(f.runs[0]!.request.inputs[0]!.shape, [1, 2]);
    f.runs[0]!.resolve(echo(f.runs[0]!.request));
    assert.equal((await a).id, 'a');
    assert.equal((await a).timing!.queueMs, 5, 'waited for the cold start in the scheduler');
    await settle();
    f.runs[1]!.resolve(echo(f.runs[1]!.request));
    assert.equal((await b).id, 'b');
    s.destroy();
  });

  test('a zero-row request is scheduled too and runs alone', async () => {
    const f = loadingRuntime();
    f.deploy(deployment({ batching: { maxBatchSize: 4 } }));
    f.instanceReady();
    const s = createScheduling({ runtime: f.rt, clock: createFakeClock() });
    const empty: InferRequest = { inputs: [{ name: 'x', datatype: 'FP32', shape: [0, 2], data: new Float32Array(0) }] };
    const first = s.infer('f', req([[1, 1]]));
    const zero = s.infer('f', empty);
    const other = s.infer('f', req([[2, 2]]));
    await settle();
    assert.equal(f.runs.length, 1);
    f.runs[0]!.resolve(echo(f.runs[0]!.request));
    await first;
    await settle();
    assert.deepEqual(f.runs[1]!.request.inputs[0]!.shape, [0, 2], 'the zero-row request ran by itself, in its turn');
    f.runs[1]!.resolve(echo(f.runs[1]!.request));
    assert.deepEqual((await zero).outputs[0]!.shape, [0, 2]);
    await settle();
    f.runs[2]!.resolve(echo(f.runs[2]!.request));
    await other;
    s.destroy();
  });

  test("when nothing can serve a function, its queued requests fail with the runner's reason; a timeout says what the queue waited for", async () => {
    const f = loadingRuntime();
    const clock = createFakeClock();
    const s = createScheduling({ runtime: f.rt, clock });
    const waiting = s.infer('f', req([[1, 1]]));
    const late = s.infer('f', req([[2, 2]], { timeout_ms: 10 }));
    const lateErr = assert.rejects(late, {
      code: 'ERR_TIMEOUT',
      message:
        /^request to function 'f' timed out after 10 ms in the queue \(no instance could be started\): request \d+ to f waited 10 ms in the queue, past its timeout of 10 ms; it was not run$/,
    });
    clock.advance(10);
    await lateErr;
    f.fail(new TensorshareError('ERR_RESOURCE_EXHAUSTED', "not enough memory to start an instance of function 'f'"));
    await assert.rejects(waiting, { code: 'ERR_RESOURCE_EXHAUSTED', message: /not enough memory/ });
    assert.equal(s.snapshot().functions.length, 0, 'a function the runtime no longer knows leaves the scheduler');
    assert.equal(f.runs.length, 0);
    s.destroy();
  });
});
