import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modeAvailability } from './inspect.js';
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
