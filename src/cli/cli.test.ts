import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { onnxTypes } from '../onnx/schema.js';
import { spawnSync } from 'node:child_process';
import { testEnv } from '../testing/env.js';
import { FIXTURES } from '../testing/fixtures.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';

const BIN = path.resolve('bin/tensorshare.js');

describe('tensorshare CLI', () => {
  let roots: TempRoots;
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, '--repository', roots.repository, '--store', roots.store, ...args], {
      encoding: 'utf8',
      env: testEnv(),
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  before(async () => {
    roots = await tempRoots('cli');
  });
  after(async () => {
    await roots.cleanup();
  });

  test('every command has --help', () => {
    for (const c of ['import', 'ls', 'inspect', 'rm', 'gc', 'du', 'verify', 'run', 'demo', 'gen']) {
      const r = cli(c, '--help');
      assert.equal(r.code, 0, `${c} --help: ${r.err}`);
      assert.match(r.out, new RegExp(`Usage: tensorshare ${c}`));
      if (c !== 'gen' && c !== 'demo') assert.match(r.out, /--json/, `${c} documents --json`);
    }
    // As the README says: every reporting command has --json; daemon and serve run until stopped and log instead.
    for (const c of ['gen', 'demo', 'bench', 'load', 'bench-sched', 'top', 'daemon', 'serve']) {
      const r = cli(c, '--help');
      assert.equal(r.code, 0, `${c} --help: ${r.err}`);
      if (c === 'daemon' || c === 'serve') assert.doesNotMatch(r.out, /--json/, c);
      else assert.match(r.out, /--json/, `${c} documents --json`);
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
    assert.deepEqual(
      ls.map((m: { name: string; version: string }) => `${m.name}:${m.version}`),
      ['cls:1'],
    );
    assert.equal(ls[0].resident, false);

    const insp = JSON.parse(cli('inspect', 'cls', '--json').out);
    assert.equal(insp.inputs[0].name, 'x');
    assert.ok(insp.tensors.length > 10);

    const run = cli('run', 'cls', '-s', 'x=1,3,48,192', '--json');
    assert.equal(run.code, 0, run.err);
    const rr = JSON.parse(run.out);
    assert.deepEqual(rr.outputs[0].shape, [1, 2]);
    const [p0, p1] = rr.outputs[0].data as number[];
    assert.ok(p0 !== undefined && p1 !== undefined, 'two probabilities');
    assert.ok(Math.abs(p0 + p1 - 1) < 1e-4, 'softmax over two orientations');
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

  test('run without values feeds inputs the model accepts: ids within the embedding, masks, token types', () => {
    const file = path.join(roots.dir, 'bert.onnx');
    const gen = cli('gen', 'bert', '--preset', 'tiny', '--out', file);
    assert.equal(gen.code, 0, gen.err);
    assert.equal(cli('import', file, '--name', 'bert', '--json').code, 0);
    for (const mode of ['fast-run', 'fast-open']) {
      // 8 ids: the tiny preset has 16 positions, 50 words, 2 token types.
      const run = cli('run', 'bert', '-s', 'input_ids=1,8', '--mode', mode, '--json');
      assert.equal(run.code, 0, `${mode}: ${run.err}`);
      const result = JSON.parse(run.out);
      assert.deepEqual(
        result.generated,
        {
          input_ids: 'random ids in [0, 50) (rows gathered by embeddings/word_embeddings/Gather) [1,8]',
          attention_mask: 'ones [1,8]',
          token_type_ids: 'zeros [1,8]',
        },
        "ids below the vocabulary read from the graph; mask and token types took input_ids' batch and sequence",
      );
      const out = result.outputs[0];
      assert.deepEqual(out.shape, [1, 8, 32]);
      assert.ok(out.data.every(Number.isFinite));
    }
    const explicit = cli('run', 'bert', '-s', 'input_ids=2,4', '-i', 'token_type_ids=random', '--json');
    assert.equal(explicit.code, 0, `an explicit random stays below the embedding's rows: ${explicit.err}`);
    assert.deepEqual(JSON.parse(explicit.out).outputs[0].shape, [2, 4, 32]);
    const unknown = cli('run', 'bert', '-s', 'ids=1,8');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /model has no input 'ids'; inputs: input_ids, attention_mask, token_type_ids/);
  });

  test('run asks for a value when the graph gives no range for an integer input', async () => {
    const { Model } = onnxTypes();
    const vi = (name: string, elemType: number) => ({
      name,
      type: { tensorType: { elemType, shape: { dim: [{ dimValue: 2 }] } } },
    });
    const file = path.join(roots.dir, 'count.onnx');
    await fs.writeFile(
      file,
      Model.encode(
        Model.fromObject({
          irVersion: 8,
          opsetImport: [{ domain: '', version: 17 }],
          graph: {
            name: 'count',
            node: [{ opType: 'Cast', input: ['count'], output: ['y'], attribute: [{ name: 'to', type: 2, i: 1 }] }],
            input: [vi('count', 7)],
            output: [vi('y', 1)],
          },
        }),
      ).finish(),
    );
    assert.equal(cli('import', file, '--name', 'count', '--no-fast-run').code, 0);
    const r = cli('run', 'count');
    assert.equal(r.code, 2);
    assert.match(r.err, /input 'count' \(int64\) needs a value: .*pass -i count=/);
    const given = cli('run', 'count', '-i', 'count=[3,4]', '--json');
    assert.equal(given.code, 0, given.err);
    assert.deepEqual(JSON.parse(given.out).outputs[0].data, [3, 4]);
  });

  test('help, import and inspect tell the truth: default repository, tensors kept in the graph, both times, unavailable variants', () => {
    const help = spawnSync(process.execPath, [BIN, '--help'], {
      encoding: 'utf8',
      env: testEnv({ XDG_DATA_HOME: path.join(roots.dir, 'xdg') }),
    });
    assert.match(
      help.stdout.replace(/\s+/g, ' '),
      new RegExp(
        `--repository <dir> durable model repository \\(env TENSORSHARE_REPOSITORY; default ${path.join(roots.dir, 'xdg', 'tensorshare')}\\)`,
      ),
    );

    const file = path.join(roots.dir, 'truth.onnx');
    const gen = cli('gen', 'bert', '--preset', 'tiny', '--seed', '7', '--out', file, '--json');
    const initializers = JSON.parse(gen.out).models[0].tensorCount as number;
    const imp = cli('import', file, '--name', 'truth');
    assert.equal(imp.code, 0, imp.err);
    const [, stored] = /truth:1 {2}(\d+) tensors/.exec(imp.out)!;
    const [, kept] = /\n(\d+) small initializers \([^)]+\) kept inside the graph file, not stored as tensors\n/.exec(
      imp.out,
    )!;
    assert.equal(Number(stored) + Number(kept), initializers, imp.out);
    assert.match(
      imp.out,
      /\nopenable after \d+ ms; building the fast-run variant in the background\nfast-run variant for ORT \S+: built in \d+ ms\n\d+ ms in all, import and fast-run build \(\d+ MB\/s end to end\): variant ready after \d+ ms/,
    );
    const again = cli('import', file, '--name', 'truth');
    assert.match(again.out, /^already present: truth:1 .*\(0 B new\)/);
    assert.match(again.out, /fast-run variant for ORT \S+: already built/);

    const vad = cli('import', FIXTURES.vad, '--name', 'vad');
    assert.equal(vad.code, 0, vad.err);
    assert.match(vad.out, /fast-run variant for ORT \S+: built in \d+ ms, unavailable \(.+\); opens use fast-open/);
    assert.match(cli('inspect', 'vad').out, /fast-run variants: \S+ \(unavailable: .+; opens use fast-open\)/);
    assert.doesNotMatch(cli('inspect', 'truth').out, /unavailable/);
  });
});
