import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createAtLevels, runtimeError } from './runtime-check.js';
import { importModel } from './import.js';
import { buildFastRun } from './fast-run.js';
import { layout } from './layout.js';
import { listModels } from './repository.js';
import { isTensorshareError } from '../errors.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { compatCorpus } from '../gen/compat-corpus.js';
import { errorStatus } from '../serve/protocol/status.js';

const PRECISION_CAST =
  'Type (tensor(float)) of output arg (InsertedPrecisionFreeCast_x) does not match expected type (tensor(float16))';

describe('fast-open levels', () => {
  test("fast-open retries at 'basic' when the graph does not load at 'disabled'", async () => {
    const asked: string[] = [];
    const r = await createAtLevels('fast-open', async (level) => {
      asked.push(level);
      if (level === 'disabled') throw new Error(PRECISION_CAST);
      return 'session';
    });
    assert.deepEqual(asked, ['disabled', 'basic']);
    assert.deepEqual(r, { session: 'session', level: 'basic' });
  });

  test("fast-run tries only 'disabled'; a missing file is not retried; the first error is the one reported", async () => {
    const asked: string[] = [];
    await assert.rejects(
      createAtLevels('fast-run', async (level) => {
        asked.push(level);
        throw new Error(PRECISION_CAST);
      }),
      /InsertedPrecisionFreeCast/,
    );
    assert.deepEqual(asked, ['disabled']);
    asked.length = 0;
    await assert.rejects(
      createAtLevels('fast-open', async (level) => {
        asked.push(level);
        throw new Error('Load model from x failed: No such file or directory');
      }),
      /No such file/,
    );
    assert.deepEqual(asked, ['disabled']);
    await assert.rejects(
      createAtLevels('fast-open', async (level) => {
        throw new Error(`failed at ${level}`);
      }),
      /failed at disabled/,
    );
  });

  test('runtime errors become named conditions with their own status', () => {
    const io = { inputs: [{ name: 'x', dtype: 'float32', shape: [2] }], outputs: [] };
    const op = runtimeError(
      new Error('This is an invalid model. Error No Op registered for Foo with domain_version of 18'),
      io,
      'm.onnx',
    );
    assert.equal(op.code, 'ERR_UNSUPPORTED_OPERATOR');
    assert.equal(op.details.operator, 'Foo');
    assert.equal(errorStatus(op).grpc, 12); // UNIMPLEMENTED
    assert.equal(runtimeError(new Error('Opset 99 is under development'), io, 'm').code, 'ERR_UNSUPPORTED_OPSET');
    assert.equal(
      runtimeError(new Error('anything'), { inputs: [{ name: 'x', dtype: 'bfloat16', shape: [2] }], outputs: [] }, 'm')
        .code,
      'ERR_UNSUPPORTED_DTYPE',
    );
    const other = runtimeError(new Error('Load model from /a/b.onnx failed:something else'), io, 'm');
    assert.equal(other.code, 'ERR_RUNTIME_REJECTED');
    assert.equal(other.details.ort, 'something else');
  });
});

describe('import of models ONNX Runtime cannot run', () => {
  let roots: TempRoots;
  let files: Record<string, string>;
  before(async () => {
    roots = await tempRoots('runtime-check');
    files = {};
    for (const m of compatCorpus().filter((x) => x.ortRejects || x.name === 'op-reshape')) {
      files[m.name] = path.join(roots.dir, `${m.name}.onnx`);
      await fs.writeFile(files[m.name]!, m.bytes);
    }
  });
  after(async () => {
    await roots.cleanup();
  });

  test('is refused with a named code and publishes nothing', async () => {
    const expected: Record<string, string> = {
      'reject-opset': 'ERR_UNSUPPORTED_OPSET',
      'reject-operator': 'ERR_UNSUPPORTED_OPERATOR',
      'reject-bfloat16': 'ERR_UNSUPPORTED_DTYPE',
    };
    for (const [name, code] of Object.entries(expected)) {
      const repo = path.join(roots.dir, `repo-${name}`);
      await assert.rejects(
        importModel(repo, files[name]!, { name }),
        (e) => isTensorshareError(e, code as never) && e.message.includes(`${name}.onnx`),
      );
      const l = layout(repo);
      assert.deepEqual(await listModels(l), []);
      for (const d of [l.tensors, l.graphs, l.models]) assert.deepEqual(await fs.readdir(d), [], d);
    }
  });

  test('with allowUnrunnable it is imported with a warning, and its fast-run build records why instead of throwing', async () => {
    const repo = path.join(roots.dir, 'repo-allowed');
    const r = await importModel(repo, files['reject-operator']!, { name: 'odd', allowUnrunnable: true });
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /NoSuchOperator.*imported anyway/);
    assert.equal(r.manifest.runtime?.unrunnable?.code, 'ERR_UNSUPPORTED_OPERATOR');
    const { variant, built } = await buildFastRun(layout(repo), layout(repo), r.manifest);
    assert.equal(built, true);
    assert.equal(variant.status, 'unavailable');
    assert.match(variant.reason!, /cannot optimize this model/);
  });

  test('a runnable model records the level fast-open loads at', async () => {
    const r = await importModel(path.join(roots.dir, 'repo-ok'), files['op-reshape']!, {
      name: 'ok',
      minExternalBytes: 1,
    });
    assert.deepEqual(r.warnings, []);
    assert.equal(r.manifest.runtime?.fastOpenLevel, 'disabled');
  });
});
