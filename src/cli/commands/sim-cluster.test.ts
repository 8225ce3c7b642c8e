// `tensorshare sim cluster`, `sim trims` and `place` as a user runs them (real processes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testEnv } from '../../testing/env.js';

const BIN = path.resolve('bin/tensorshare.js');
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env: testEnv(), encoding: 'utf8' });

test('sim cluster --json: one result per combination, the same for the same seed; charts and table with --out', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorshare-simcluster-'));
  try {
    const args = ['sim', 'cluster', '--nodes', '4', '--functions', '20', '--invocations', '3000', '--duration', '1h'];
    const a = cli([...args, '--placement', 'similarity,random', '--policy', 'lru,ttl', '--json', '--out', dir]);
    assert.equal(a.status, 0, a.stderr);
    const doc = JSON.parse(a.stdout);
    assert.deepEqual(
      doc.results.map((r: { placement: string; policy: string }) => `${r.placement}/${r.policy}`),
      ['similarity/lru', 'similarity/ttl', 'random/lru', 'random/ttl'],
    );
    for (const r of doc.results) {
      assert.equal(r.warm + r.residentStarts + r.coldStarts + r.rejected, r.invocations);
      assert.ok(r.sloAttainment > 0 && r.sloAttainment <= 1);
    }
    assert.equal(doc.timing.length, 4);
    assert.ok(doc.timing.every((t: { eventsPerSecond: number }) => t.eventsPerSecond > 0));
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      'sim-cluster-bytes.svg',
      'sim-cluster-coldstarts.svg',
      'sim-cluster-memory.svg',
      'sim-cluster-slo.svg',
      'sim-cluster.md',
    ]);
    const b = cli([...args, '--placement', 'similarity,random', '--policy', 'lru,ttl', '--json']);
    assert.deepEqual(JSON.parse(b.stdout).results, doc.results, 'deterministic for a seed');
    const bad = cli([...args, '--policy', 'mru']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown policy 'mru'.*\[ERR_INVALID_ARGUMENT\]/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('place ranks nodes from JSON files; a bad file is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorshare-place-'));
  try {
    const model = path.join(dir, 'model.json');
    const nodes = path.join(dir, 'nodes.json');
    fs.writeFileSync(
      model,
      JSON.stringify({
        model: 'bert-ft1',
        tensors: [
          { hash: 'enc', bytes: 400 },
          { hash: 'head', bytes: 30 },
        ],
      }),
    );
    fs.writeFileSync(
      nodes,
      JSON.stringify([
        { node: 'empty', freeBytes: 1000, resident: [] },
        { node: 'base', freeBytes: 100, resident: ['enc'] },
        { node: 'full', freeBytes: 10, resident: [] },
      ]),
    );
    const r = cli(['place', '--model', model, '--nodes', nodes, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(
      doc.ranked.map((s: { node: string }) => s.node),
      ['base', 'empty'],
    );
    assert.deepEqual(
      doc.rejected.map((s: { node: string; fits: boolean }) => [s.node, s.fits]),
      [['full', false]],
    );
    fs.writeFileSync(nodes, '{');
    const bad = cli(['place', '--model', model, '--nodes', nodes]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /nodes\.json is not JSON/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sim trims measures q, o and s and prints rho beside the measured benefit', () => {
  const r = cli(['sim', 'trims', '--bytes', '8MiB', '--objects', '200', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.ok(
    doc.measurement.storageBytesPerMs > 0 && doc.measurement.shareMsPerObject > 0 && doc.measurement.mapMsPerObject > 0,
  );
  const bert = doc.rows.find((x: { model: string }) => x.model === 'bert');
  assert.ok(Math.abs(bert.predictedMs - (bert.loadMs - bert.sharingMs)) < 1e-9);
  assert.equal(typeof bert.measuredVsPlainMs, 'number');
});
