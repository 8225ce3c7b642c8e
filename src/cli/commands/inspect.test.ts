import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { modeAvailability, SHARED_NAMES, sharedWithCell, sharingLine, type SharingSummary } from './inspect.js';
import { fineTuned, mlp, MLP_TINY, writeModel } from '../../gen/index.js';
import { importModel } from '../../store/import.js';
import { testEnv } from '../../testing/env.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import type { Manifest, VariantManifest } from '../../store/manifest.js';

const KEY = 'fast-run-1.30.0-x64-test';
const manifest = (runtime?: Manifest['runtime']) => ({ runtime }) as Manifest;
const variant = (v: Partial<VariantManifest>) =>
  ({ ortVersion: '1.30.0', target: 'x64-test', buildMs: 12, ...v }) as VariantManifest;
const table = (m: Manifest, vs: VariantManifest[]) =>
  Object.fromEntries(modeAvailability(m, vs, KEY).map((x) => [x.mode, `${x.available ? 'yes' : 'no'}: ${x.why}`]));

test('inspect says per mode whether it is available and why not', () => {
  assert.deepEqual(table(manifest({ fastOpenLevel: 'basic' }), [variant({ status: 'ok', probe: 'passed' })]), {
    'fast-open': "yes: loads at optimization level 'basic'",
    'fast-run': 'yes: variant built in 12 ms, checked against the model (probe passed)',
    auto: 'yes: opens in fast-open, switches to fast-run after the first run',
  });
  const loop = table(manifest({ fastOpenLevel: 'disabled' }), [
    variant({ status: 'unavailable', reason: 'initializer name is not unique' }),
  ]);
  assert.equal(loop['fast-run'], 'no: variant unavailable, opens use fast-open: initializer name is not unique');
  assert.equal(loop.auto, 'yes: serves in fast-open only (fast-run unavailable)');
  assert.match(
    table(manifest({ fastOpenLevel: 'disabled' }), [variant({ status: 'ok', target: 'arm64-other' })])['fast-run']!,
    /^yes: variant for fast-run-1.30.0-x64-test not built yet/,
  );
  const odd = table(
    manifest({
      fastOpenLevel: 'disabled',
      unrunnable: { code: 'ERR_UNSUPPORTED_OPERATOR', message: 'no kernel for Foo' },
    }),
    [],
  );
  assert.deepEqual(odd, {
    'fast-open': 'no: ERR_UNSUPPORTED_OPERATOR: no kernel for Foo',
    'fast-run': 'no: ERR_UNSUPPORTED_OPERATOR: ONNX Runtime cannot run this model',
    auto: 'no: no mode can load this model',
  });
  assert.match(table(manifest(undefined), [])['fast-open']!, /^yes: not checked at import/);
});

// Many fine-tuned variants share their base tensors: inspect counts the
// sharing models instead of naming them all on one line; --json lists all.
describe('inspect of a model many others share tensors with', () => {
  let roots: TempRoots;
  const VARIANTS = 6;
  before(async () => {
    roots = await tempRoots('ts-inspect-many');
    const specs = fineTuned(mlp(MLP_TINY), { variants: VARIANTS, diffLayers: 1 });
    for (const spec of specs) {
      const file = path.join(roots.dir, `${spec.name}.onnx`);
      await writeModel(spec, file);
      await importModel(roots.repository, file, { name: spec.name });
    }
  });
  after(async () => {
    await roots?.cleanup();
  });
  const inspect = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [path.resolve('bin/tensorshare.js'), '--repository', roots.repository, 'inspect', ...args],
      { encoding: 'utf8', env: testEnv() },
    );

  test('the table counts sharing models and a summary line says what is shared', () => {
    const r = inspect('mlp-ft1');
    assert.equal(r.status, 0, r.stderr);
    const others = Array.from({ length: VARIANTS - 1 }, (_, i) => `mlp-ft${i + 2}:1`);
    assert.match(
      r.stdout,
      new RegExp(
        `^sharing: 2 tensors \\(.+\\) shared with ${VARIANTS - 1} other models, 1 tensor \\(.+\\) its own$`,
        'm',
      ),
    );
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('layers.'));
    // The weights (biases stay inside the graph): the two base layers are shared, the last is its own.
    assert.equal(rows.length, 3, r.stdout);
    const shared = rows.filter((l) => l.includes(`${VARIANTS - 1} models: `));
    assert.equal(shared.length, 2, 'the base tensors name a count');
    for (const l of shared) {
      assert.match(
        l,
        new RegExp(`${VARIANTS - 1} models: ${others.slice(0, SHARED_NAMES).join(' ')} \\+2 \\(--json lists all\\)`),
      );
      for (const o of others.slice(SHARED_NAMES)) assert.doesNotMatch(l, new RegExp(`${o}\\b`));
    }
    assert.equal(rows.filter((l) => / -$/.test(l.trimEnd())).length, 1, 'the changed layer is its own');
  });

  test('--json lists every sharing model and the same summary', () => {
    const r = inspect('mlp-ft1', '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      tensors: { name: string; sharedWith: string[] }[];
      sharing: SharingSummary;
    };
    const others = Array.from({ length: VARIANTS - 1 }, (_, i) => `mlp-ft${i + 2}:1`);
    for (const t of j.tensors.filter((x) => x.sharedWith.length > 0))
      assert.deepEqual([...t.sharedWith].sort(), others);
    assert.deepEqual(
      { ...j.sharing, sharedBytes: 0, ownBytes: 0 },
      { sharedTensors: 2, sharedBytes: 0, ownTensors: 1, ownBytes: 0, models: VARIANTS - 1 },
    );
    assert.ok(j.sharing.sharedBytes > j.sharing.ownBytes);
  });
});

test('the shared-with cell names a few models and counts the rest', () => {
  assert.equal(sharedWithCell([]), '-');
  assert.equal(sharedWithCell(['a:1', 'b:1', 'c:1']), 'a:1 b:1 c:1');
  const many = Array.from({ length: 199 }, (_, i) => `m${i}:1`);
  assert.equal(sharedWithCell(many), '199 models: m0:1 m1:1 m2:1 +196 (--json lists all)');
  assert.equal(
    sharingLine({ sharedTensors: 1, sharedBytes: 1024, ownTensors: 0, ownBytes: 0, models: 1 }),
    'sharing: 1 tensor (1 KiB) shared with 1 other model, 0 tensors (0 B) its own',
  );
  assert.equal(
    sharingLine({ sharedTensors: 0, sharedBytes: 0, ownTensors: 3, ownBytes: 30, models: 0 }),
    'sharing: none of its 3 tensors is used by another model',
  );
});
