// `tensorshare plan` and `tensorshare sim batch` as a user runs them, on a
// given profile file (measuring is src/bench/plan-profile.ts's test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withTempDir } from '../../testing/tmp.js';
import { testEnv } from '../../testing/env.js';
import { packageRoot } from '../../paths.js';

const MAIN = path.join(packageRoot, 'dist', 'src', 'cli', 'main.js');

function cli(args: string[], dir: string) {
  const r = spawnSync(
    process.execPath,
    [MAIN, '--repository', path.join(dir, 'repo'), '--store', path.join(dir, 'store'), ...args],
    {
      env: testEnv(),
      encoding: 'utf8',
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function writeProfile(dir: string): string {
  const file = path.join(dir, 'm.json');
  const points = [1, 2].flatMap((threads) =>
    [1, 2, 4, 8, 16].map((batch) => ({
      threads,
      batch,
      latencyMs: (2 + 0.8 * batch) / threads ** 0.7,
      memoryBytes: (20 + batch) << 20,
    })),
  );
  fs.writeFileSync(
    file,
    JSON.stringify({ format: 'tensorshare.plan-profile/v1', model: 'm', cpu: 'test', sharedBytes: 50 << 20, points }),
  );
  return file;
}

test('plan: writes the plan serve applies; nothing schedulable exits 3 naming why', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    const profile = writeProfile(dir);
    const out = path.join(dir, 'plan.json');
    const ok = cli(
      ['plan', '--profile', `m=${profile}`, '--fn', 'm=400@30', '--cores', '4', '--out', out, '--json'],
      dir,
    );
    assert.equal(ok.status, 0, ok.stderr);
    const v = JSON.parse(ok.stdout) as {
      schedulable: boolean;
      plan: { choices: Array<{ instances: number; threads: number; maxBatchSize: number }> };
    };
    assert.equal(v.schedulable, true);
    const [c] = v.plan.choices;
    assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), {
      format: 'tensorshare.plan/v1',
      functions: { m: { instances: c!.instances, intraOpThreads: c!.threads, maxBatchSize: c!.maxBatchSize } },
    });
    const none = cli(['plan', '--profile', `m=${profile}`, '--fn', 'm=400@2', '--cores', '4'], dir);
    assert.equal(none.status, 3);
    assert.match(none.stdout, /not schedulable:\n {2}m: no configuration meets the 2 ms SLO/);
    const rt = cli(['plan', '--profile', `m=${profile}`, '--realtime', 'm=10@1', '--cores', '2', '--json'], dir);
    assert.equal(rt.status, 3);
    assert.match(
      (JSON.parse(rt.stdout) as { realtime: { reasons: string[] } }).realtime.reasons[0]!,
      /m: no placement meets deadline 1 ms/,
    );
    const bad = cli(['plan', '--profile', `m=${profile}`, '--fn', 'm=fast@30'], dir);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--fn rate must be a number > 0, got 'fast'/);
  });
});

test('sim batch: the same seed prints the same result; charts are written', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    const profile = writeProfile(dir);
    const args = [
      'sim',
      'batch',
      '--profile',
      profile,
      '--slo-ms',
      '12',
      '--rate',
      '300,900',
      '--phase-ms',
      '1500',
      '--max-batch',
      '16',
      '--seed',
      '4',
      '--json',
    ];
    const a = cli([...args, '--out', path.join(dir, 'charts')], dir);
    assert.equal(a.status, 0, a.stderr);
    const b = cli(args, dir);
    const strip = (s: string) => ({ ...(JSON.parse(s) as Record<string, unknown>), charts: null });
    assert.deepEqual(strip(a.stdout), strip(b.stdout));
    const v = JSON.parse(a.stdout) as { offline: { batch: number }; aimd: { phases: unknown[] }; charts: string[] };
    // (2 + 0.8 b) <= 12 -> b* = 12.
    assert.equal(v.offline.batch, 12);
    assert.equal(v.aimd.phases.length, 2);
    assert.equal(v.charts.length, 3);
    for (const f of v.charts) assert.match(fs.readFileSync(f, 'utf8'), /^<svg/);
  });
});
