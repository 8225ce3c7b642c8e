import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { testEnv } from '../testing/env.js';
import { FIXTURES } from '../testing/fixtures.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';

const BIN = path.resolve('bin/tensorshare.js');

describe('tensorshare CLI', () => {
  let roots: TempRoots;
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, '--repository', roots.repository, '--store', roots.store, ...args], { encoding: 'utf8', env: testEnv() });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  before(async () => { roots = await tempRoots('cli'); });
  after(async () => { await roots.cleanup(); });

  test('every command has --help', () => {
    for (const c of ['import', 'ls', 'inspect', 'rm', 'gc', 'du', 'verify', 'run', 'demo', 'gen']) {
      const r = cli(c, '--help');
      assert.equal(r.code, 0, `${c} --help: ${r.err}`);
      assert.match(r.out, new RegExp(`Usage: tensorshare ${c}`));
      if (c !== 'gen' && c !== 'demo') assert.match(r.out, /--json/, `${c} documents --json`);
    }
  });

  test('import, ls, inspect, run, du, verify, rm, gc with --json', () => {
    const imp = cli('import', FIXTURES.ocrCls, '--name', 'cls', '--json');
    assert.equal(imp.code, 0, imp.err);
    const ir = JSON.parse(imp.out);
    assert.equal(ir.outcome, 'created');
    assert.equal(ir.fastRun.built, true);
    assert.equal(imp.err, '', 'no progress bar when not on a terminal');

    const ls = JSON.parse(cli('ls', '--json').out);
    assert.deepEqual(ls.map((m: { name: string; version: string }) => `${m.name}:${m.version}`), ['cls:1']);
    assert.equal(ls[0].resident, false);

    const insp = JSON.parse(cli('inspect', 'cls', '--json').out);
    assert.equal(insp.inputs[0].name, 'x');
    assert.ok(insp.tensors.length > 10);

    const run = cli('run', 'cls', '-s', 'x=1,3,48,192', '--json');
    assert.equal(run.code, 0, run.err);
    const rr = JSON.parse(run.out);
    assert.deepEqual(rr.outputs[0].shape, [1, 2]);
    const p = rr.outputs[0].data as number[];
    assert.ok(Math.abs(p[0] + p[1] - 1) < 1e-4, 'softmax over two orientations');
    assert.equal(JSON.parse(cli('ls', '--json').out)[0].resident, true, 'run made it resident');

    const du = JSON.parse(cli('du', '--json').out);
    assert.ok(du.physicalBytes > 500_000);
    assert.equal(JSON.parse(cli('verify', '--json').out).problems.length, 0);
    assert.equal(JSON.parse(cli('verify', '--in-store', '--json').out).problems.length, 0);

    assert.deepEqual(JSON.parse(cli('rm', 'cls', '--json').out).removed, ['cls:1']);
    const gc = JSON.parse(cli('gc', '--json').out);
    assert.ok(gc.repository.filesRemoved > 10);
    assert.deepEqual(JSON.parse(cli('ls', '--json').out), []);
  });

  test('errors name the problem and exit non-zero', () => {
    const missing = cli('inspect', 'nope');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /model 'nope' not found .*\[ERR_MODEL_NOT_FOUND\]/);
    const json = cli('run', 'nope', '--json');
    assert.equal(JSON.parse(json.out).error.code, 'ERR_MODEL_NOT_FOUND');
    const badName = cli('import', FIXTURES.ocrCls, '--name', '../x');
    assert.equal(badName.code, 2);
    assert.match(badName.err, /invalid model name/);
    const badFile = cli('import', 'README.md', '--name', 'readme');
    assert.equal(badFile.code, 1);
    assert.match(badFile.err, /README\.md.*\[ERR_INVALID_MODEL\]/);
    const usage = cli('import');
    assert.notEqual(usage.code, 0);
    assert.match(usage.err, /required option '-n, --name <name>' not specified/);
  });
});
