import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FUNCTION_DEFAULTS, validateConfig } from './config.js';
import { fingerprintFunction, listFunctionNames, readFunction } from './repository.js';
import { writeFunction } from '../../testing/functions.js';

const FILE = 'functions/ocr/config.json';

function rejects(raw: unknown, ...expected: (string | RegExp)[]) {
  assert.throws(
    () => validateConfig(raw, FILE, 'ocr'),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
      assert.ok(e.message.startsWith(`${FILE}: `), `names the file: ${e.message}`);
      for (const x of expected)
        assert.match(e.message, typeof x === 'string' ? new RegExp(x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : x);
      return true;
    },
  );
}

describe('function config', () => {
  test('defaults fill every setting', () => {
    const c = validateConfig({ model: 'ppocr-rec' }, FILE, 'ocr');
    assert.deepEqual(c.models, { model: { ref: 'ppocr-rec' } });
    assert.equal(c.minInstances, FUNCTION_DEFAULTS.minInstances);
    assert.equal(c.maxInstances, FUNCTION_DEFAULTS.maxInstances);
    assert.equal(c.targetConcurrency, 1);
    assert.equal(c.maxConcurrency, 1);
    assert.equal(c.keepAliveSeconds, 60);
    assert.equal(c.priority, 'realtime');
    assert.equal(c.tenant, 'default');
    assert.equal(c.memoryLimitMb, undefined);
    assert.equal(c.mode, undefined);
  });

  test('every setting is read', () => {
    const c = validateConfig(
      {
        models: { det: 'ppocr-det:1', rec: { modelFile: 'rec.onnx', name: 'my-rec' } },
        handler: 'lib/handle.js',
        minInstances: 1,
        maxInstances: 3,
        targetConcurrency: 2,
        maxConcurrency: 4,
        keepAliveSeconds: 0.5,
        stableWindowSeconds: 10,
        panicWindowSeconds: 1,
        panicThreshold: 3,
        intraOpThreads: 2,
        tenant: 'acme',
        priority: 'besteffort',
        requestTimeoutMs: 500,
        maxQueueLength: 0,
        memoryLimitMb: 300,
        mode: 'fast-open',
        batching: { maxBatchSize: 8, maxQueueDelayMs: 2, preferredBatchSizes: [4, 8], sloMs: 50 },
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
        outputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
      },
      FILE,
      'ocr',
    );
    assert.deepEqual(c.models, { det: { ref: 'ppocr-det:1' }, rec: { modelFile: 'rec.onnx', name: 'my-rec' } });
    assert.equal(c.maxConcurrency, 4);
    assert.equal(c.priority, 'besteffort');
    assert.deepEqual(c.batching, { maxBatchSize: 8, maxQueueDelayMs: 2, preferredBatchSizes: [4, 8], sloMs: 50 });
    assert.equal(c.outputs![0]!.name, 'text');
  });

  test('device: cpu by default, cpu-executor, gpu, gpu:N and auto; anything else names the choices', () => {
    assert.equal(validateConfig({ model: 'm' }, FILE, 'ocr').device, 'cpu');
    assert.equal(validateConfig({ model: 'm', device: 'cpu-executor' }, FILE, 'ocr').device, 'cpu-executor');
    assert.deepEqual(validateConfig({ model: 'm', device: 'gpu' }, FILE, 'ocr').device, { gpu: undefined });
    assert.deepEqual(validateConfig({ model: 'm', device: 'gpu:3' }, FILE, 'ocr').device, { gpu: 3 });
    assert.equal(validateConfig({ model: 'm', device: 'auto' }, FILE, 'ocr').device, 'auto');
    rejects(
      { model: 'm', device: 'cuda' },
      "device must be 'cpu', 'cpu-executor', 'gpu', 'gpu:<index>' or 'auto', got \"cuda\"",
    );
    rejects({ model: 'm', device: 'gpu:x' }, 'device must be');
  });

  test('gpuPolicy: one of the device policies, only with a device; a wrong one names the choices', () => {
    assert.equal(validateConfig({ model: 'm', device: 'gpu' }, FILE, 'ocr').gpuPolicy, undefined);
    assert.equal(validateConfig({ model: 'm', device: 'auto', gpuPolicy: 'srtf' }, FILE, 'ocr').gpuPolicy, 'srtf');
    assert.equal(validateConfig({ model: 'm', device: 'gpu:0', gpuPolicy: 'fair' }, FILE, 'ocr').gpuPolicy, 'fair');
    rejects(
      { model: 'm', device: 'gpu', gpuPolicy: 'lifo' },
      "gpuPolicy must be one of 'fifo', 'pack', 'srtf', 'fair', got \"lifo\"",
    );
    rejects({ model: 'm', gpuPolicy: 'pack' }, "gpuPolicy is only meaningful with device 'gpu'");
    rejects({ model: 'm', device: 'gpu', gpupolicy: 'pack' }, "unknown field 'gpupolicy' (did you mean 'gpuPolicy'?)");
  });

  test('modelFile takes the function name unless modelName is given', () => {
    assert.deepEqual(validateConfig({ modelFile: 'm.onnx' }, FILE, 'ocr').models, {
      model: { modelFile: 'm.onnx', name: 'ocr' },
    });
    assert.deepEqual(validateConfig({ modelFile: 'm.onnx', modelName: 'x' }, FILE, 'ocr').models, {
      model: { modelFile: 'm.onnx', name: 'x' },
    });
  });

  test('each error names the file and the field', () => {
    rejects(
      { model: 'm', maxInstances: 'x' },
      'functions/ocr/config.json: maxInstances must be an integer >= 1, got "x"',
    );
    rejects({ model: 'm', minInstances: -1 }, 'minInstances must be an integer >= 0, got -1');
    rejects({ model: 'm', targetConcurrency: 1.5 }, 'targetConcurrency must be an integer >= 1, got 1.5');
    rejects({ model: 'm', keepAliveSeconds: '60' }, 'keepAliveSeconds must be a number >= 0, got "60"');
    rejects({ model: 'm', stableWindowSeconds: 0 }, 'stableWindowSeconds must be a number > 0, got 0');
    rejects({ model: 'm', priority: 'urgent' }, "priority must be 'realtime' or 'besteffort', got \"urgent\"");
    rejects({ model: 'm', mode: 'fast' }, "mode must be 'fast-open', 'fast-run' or 'auto'");
    assert.equal(validateConfig({ model: 'm', mode: 'auto' }, FILE, 'f').mode, 'auto');
    rejects({ model: 'm', requestTimeoutMs: 0 }, 'requestTimeoutMs must be an integer >= 1, got 0');
    rejects({ model: 'm', memoryLimitMb: 0 }, 'memoryLimitMb must be an integer >= 1, got 0');
    rejects({ model: 'm', tenant: '' }, 'tenant must be a non-empty string');
    rejects({ model: 'm', intraOpThreads: null }, 'intraOpThreads must be an integer >= 1, got null');
    rejects({ model: 'm', maxQueueLength: -5 }, 'maxQueueLength must be an integer >= 0');
    rejects({ model: 'bad name!' }, "model must be a model reference 'name' or 'name:version'");
    rejects({ models: { det: 42 } }, 'models.det must be a model reference string');
    rejects({ models: {} }, 'models must be an object mapping aliases');
    rejects(
      { models: { det: { model: 'a', modelFile: 'b' } } },
      'models.det must name exactly one of model or modelFile',
    );
    rejects({ model: 'm', handler: '../x.js' }, 'handler must be a path inside the function folder');
  });

  test('batching and declared I/O are checked per field', () => {
    rejects({ model: 'm', batching: { maxBatchSize: 0 } }, 'batching.maxBatchSize must be an integer >= 1, got 0');
    rejects(
      { model: 'm', batching: { preferredBatchSizes: [2, 'x'] } },
      'batching.preferredBatchSizes must be a list of integers >= 1',
    );
    rejects({ model: 'm', batching: { sloMs: -1 } }, 'batching.sloMs must be a number > 0');
    rejects({ model: 'm', batching: 3 }, 'batching must be an object');
    rejects(
      { model: 'm', batching: { maxBatchSize: 4, preferredBatchSizes: [2, 8] } },
      'batching.preferredBatchSizes must not exceed batching.maxBatchSize (4), got [8]',
    );
    rejects(
      { model: 'm', batching: { preferredBatchSizes: [16] } },
      'batching.preferredBatchSizes must not exceed batching.maxBatchSize (8, the default), got [16]',
    );
    rejects(
      { model: 'm', batching: { sloMs: 20, aimdStep: 0.5 } },
      'batching.aimdStep must be an integer >= 1, got 0.5',
    );
    rejects(
      { model: 'm', batching: { sloMs: 20, aimdBackoff: 1 } },
      'batching.aimdBackoff must be a number in (0, 1), got 1',
    );
    rejects({ model: 'm', batching: { aimdStep: 2 } }, 'batching.aimdStep is only meaningful with batching.sloMs');
    rejects(
      { model: 'm', batching: { handlerAcceptsBatches: 'yes' } },
      'batching.handlerAcceptsBatches must be true or false, got "yes"',
    );
    rejects(
      { model: 'm', batching: { maxBatch: 4 } },
      "unknown field 'batching.maxBatch' (did you mean 'batching.maxBatchSize'?)",
    );
    rejects(
      { model: 'm', batching: { maxQueueDelayMs: -1, sloMs: 0 } },
      'batching.maxQueueDelayMs must be a number >= 0, got -1',
      'batching.sloMs must be a number > 0, got 0',
    );
    assert.deepEqual(
      validateConfig(
        { model: 'm', batching: { sloMs: 40, aimdStep: 2, aimdBackoff: 0.25, handlerAcceptsBatches: true } },
        FILE,
        'ocr',
      ).batching,
      { sloMs: 40, aimdStep: 2, aimdBackoff: 0.25, handlerAcceptsBatches: true },
    );
    assert.deepEqual(
      validateConfig({ model: 'm', batching: {} }, FILE, 'ocr').batching,
      {},
      "defaults are the scheduler's (BATCHING_DEFAULTS)",
    );
    rejects(
      { model: 'm', inputs: [{ name: 'a', datatype: 'FLOAT', shape: [1] }], outputs: [] },
      'inputs[0].datatype must be one of BOOL',
    );
    rejects(
      { model: 'm', inputs: [{ name: 'a', datatype: 'FP32', shape: [-2] }], outputs: [] },
      'inputs[0].shape must be a list of integers',
    );
    rejects({ model: 'm', inputs: [] }, 'inputs and outputs must be given together');
  });

  test('typos and contradictions are reported, all at once', () => {
    rejects({ model: 'm', maxInstance: 3 }, "unknown field 'maxInstance' (did you mean 'maxInstances'?)");
    rejects({ model: 'm', modelFile: 'x.onnx' }, 'give only one of model, modelFile');
    rejects({ model: 'm', minInstances: 3, maxInstances: 2 }, 'minInstances (3) must not exceed maxInstances (2)');
    rejects(
      { model: 'm', targetConcurrency: 4, maxConcurrency: 2 },
      'maxConcurrency (2) must be >= targetConcurrency (4)',
    );
    rejects(
      { model: 'm', panicWindowSeconds: 20, stableWindowSeconds: 10 },
      'panicWindowSeconds (20) must not exceed stableWindowSeconds (10)',
    );
    rejects({ model: 'm', maxInstances: 0, priority: 'x' }, 'maxInstances must be', 'priority must be');
    rejects([1, 2], 'must be an object');
  });
});

describe('function repository', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-fnrepo-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('lists folders with a config, reads JSON and YAML, names the file in errors', async () => {
    const functions = path.join(dir, 'functions');
    await writeFunction(functions, 'a', { model: 'm' });
    await writeFunction(
      functions,
      'b',
      'model: m\nmaxInstances: 2\npriority: besteffort\n' as unknown as object,
      undefined,
      'config.yaml',
    );
    await writeFunction(functions, 'c', { model: 'm', maxInstances: 'x' });
    await writeFunction(functions, 'd', '{ not json' as unknown as object, undefined, 'config.yaml');
    await fs.mkdir(path.join(functions, 'no-config'), { recursive: true });
    assert.deepEqual(await listFunctionNames(functions), ['a', 'b', 'c', 'd']);
    assert.deepEqual(await listFunctionNames(path.join(dir, 'missing')), []);

    const b = await readFunction(functions, 'b');
    assert.equal(b.config.maxInstances, 2);
    assert.equal(b.config.priority, 'besteffort');
    assert.equal(b.source.label, 'functions/b/config.yaml');
    await assert.rejects(
      readFunction(functions, 'c'),
      /^TensorshareError: functions\/c\/config.json: maxInstances must be an integer >= 1, got "x"$/m,
    );
    await assert.rejects(readFunction(functions, 'd'), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^functions\/d\/config.yaml: /,
    });
    await assert.rejects(readFunction(functions, 'zzz'), { code: 'ERR_MODEL_NOT_FOUND' });
  });

  test('a function needs a model or a handler; several configs are ambiguous; a named handler must exist', async () => {
    const functions = path.join(dir, 'functions2');
    await writeFunction(functions, 'empty', {});
    await assert.rejects(readFunction(functions, 'empty'), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /functions2\/empty\/config.json: model is missing/,
    });
    await writeFunction(functions, 'two', { model: 'm' });
    await fs.writeFile(path.join(functions, 'two', 'config.yaml'), 'model: m\n');
    await assert.rejects(readFunction(functions, 'two'), {
      message: /several config files \(config.json, config.yaml\)/,
    });
    await writeFunction(functions, 'h', { model: 'm', handler: 'nope.js' });
    await assert.rejects(readFunction(functions, 'h'), {
      message: /functions2\/h\/config.json: handler 'nope.js' does not exist/,
    });
    await writeFunction(functions, 'multi', { models: { a: 'm', b: 'n' } });
    await assert.rejects(readFunction(functions, 'multi'), {
      message: /models lists several models but there is no handler.js/,
    });
    await writeFunction(functions, 'only-handler', {}, 'export function handle() {}');
    assert.ok((await readFunction(functions, 'only-handler')).source.handlerFile?.endsWith('only-handler/handler.js'));
  });

  test('the fingerprint follows the config, the handler and helper files', async () => {
    const functions = path.join(dir, 'functions3');
    const d = await writeFunction(functions, 'f', { model: 'm' }, 'export function handle() { return 1; }');
    const f0 = await fingerprintFunction(functions, 'f');
    assert.equal(await fingerprintFunction(functions, 'f'), f0);
    await fs.writeFile(path.join(d, 'handler.js'), 'export function handle() { return 2; }');
    const f1 = await fingerprintFunction(functions, 'f');
    assert.notEqual(f1, f0);
    await fs.writeFile(path.join(d, 'helper.js'), 'export const x = 1;');
    assert.notEqual(await fingerprintFunction(functions, 'f'), f1);
    await fs.rm(path.join(d, 'config.json'));
    assert.equal(await fingerprintFunction(functions, 'f'), undefined);
  });
});
