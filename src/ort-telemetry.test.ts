// ONNX Runtime's telemetry stays off in tensorshare's processes: with
// ORT_DISABLE_TELEMETRY unset, HOME and TMPDIR pointed at a temp folder, a CLI
// import (its runtime check and variant build in child processes), a CLI run
// (a session in the CLI process) and a served instance leave no mat-debug log
// and no ~/.cache/Microsoft database there. A user's own setting is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { quietOrtTelemetry } from './ort-telemetry.js';
import { testEnv } from './testing/env.js';
import { FIXTURES } from './testing/fixtures.js';
import { tempRoots } from './testing/tmp.js';
import { spawnServe } from './testing/serve.js';
import { writeFunction } from './testing/functions.js';

const BIN = path.resolve('bin/tensorshare.js');

async function telemetryFiles(dir: string): Promise<string[]> {
  const found = (await fs.readdir(dir, { recursive: true })) as string[];
  return found.filter((f) => /mat-debug-|Microsoft/.test(f));
}

test('quietOrtTelemetry sets ORT_DISABLE_TELEMETRY only when it is unset', () => {
  const env: NodeJS.ProcessEnv = {};
  quietOrtTelemetry(env);
  assert.equal(env.ORT_DISABLE_TELEMETRY, '1');
  const mine: NodeJS.ProcessEnv = { ORT_DISABLE_TELEMETRY: '0' };
  quietOrtTelemetry(mine);
  assert.equal(mine.ORT_DISABLE_TELEMETRY, '0', "the user's choice stands");
});

test('the CLI and served instances run ONNX Runtime without its telemetry files', async () => {
  const roots = await tempRoots('ort-telemetry');
  try {
    const home = path.join(roots.dir, 'home');
    await fs.mkdir(home);
    const env = testEnv({ ORT_DISABLE_TELEMETRY: undefined, HOME: home, TMPDIR: home });
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, '--repository', roots.repository, '--store', roots.store, ...args], {
        encoding: 'utf8',
        env,
      });
    const imp = cli('import', FIXTURES.ocrCls, '--name', 'cls', '--json');
    assert.equal(imp.status, 0, imp.stderr);
    const run = cli('run', 'cls', '-s', 'x=1,3,48,192', '--json');
    assert.equal(run.status, 0, run.stderr);
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'cls', { model: 'cls', minInstances: 0 });
    const served = await spawnServe(roots, functions, ['--no-bundled', '--grpc-port', 'off', '--daemon', 'off'], env);
    try {
      const res = await fetch(`${served.url}/v2/models/cls/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: new Array(3 * 48 * 192).fill(0.5) }],
        }),
      });
      assert.equal(res.status, 200, await res.text());
    } finally {
      await served.stop();
    }
    assert.deepEqual(await telemetryFiles(home), [], 'no telemetry files under HOME or TMPDIR');
  } finally {
    await roots.cleanup();
  }
});
