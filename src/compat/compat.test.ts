// The generated corpus through the same runner as `npm run compat`: every
// row must pass, at the default tensor threshold and at 1 byte (every
// non-string initializer takes the store path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tempRoots } from '../testing/tmp.js';
import { writeCorpus } from './models.js';
import { runCompat, COMPAT_MODES } from './runner.js';
import { markdownTable } from './report.js';
import { compatCorpus } from '../gen/compat-corpus.js';

test('every row of the generated compatibility corpus passes in every mode, at thresholds 1024 and 1 byte', async () => {
  const roots = await tempRoots('compat');
  try {
    const models = await writeCorpus(path.join(roots.dir, 'corpus'));
    const rows = await runCompat(models, { workDir: roots.dir, thresholds: [1024, 1] });
    assert.equal(rows.length, models.length * 2);
    const failed = rows.filter((r) => !r.passed);
    assert.deepEqual(
      failed.map((r) => `${r.model}@${r.threshold}: ${JSON.stringify(r.ortCannotRun ?? r.modes)}`),
      [],
    );

    const rejected = new Set(
      compatCorpus()
        .filter((m) => m.ortRejects)
        .map((m) => m.name),
    );
    for (const r of rows) {
      // Models plain ORT refuses are reported as such, never as a tensorshare result.
      assert.equal(r.ortCannotRun !== undefined, rejected.has(r.model), `${r.model}: ORT verdict`);
      if (r.ortCannotRun)
        assert.match(
          r.ortCannotRun,
          /import: ERR_(UNSUPPORTED_OPSET|UNSUPPORTED_OPERATOR|UNSUPPORTED_DTYPE|RUNTIME_REJECTED)/,
          r.model,
        );
      else for (const m of COMPAT_MODES) assert.ok(r.modes[m]?.ok, `${r.model}@${r.threshold} ${m}`);
    }
    const row = (model: string, threshold: number) => rows.find((r) => r.model === model && r.threshold === threshold)!;
    // A Range graph and the IR 3 models run on their fast-run variant (they used to throw or break the second request).
    // A shape computed from constants keeps them in the graph, so the variant builds even at 1 byte.
    for (const model of [
      'op-range',
      'range-dynamic',
      'ir3-cnn',
      'ir3-mlp',
      'fp16-attention',
      'op-reshape-computed-shape',
    ]) {
      for (const t of [1024, 1]) {
        assert.equal(row(model, t).modes['fast-run']!.servedBy, 'fast-run', `${model}@${t}`);
        assert.equal(row(model, t).modes['auto-2nd']!.servedBy, 'fast-run', `${model}@${t} auto, 2nd request`);
      }
    }
    // fast-open serves every shape-like model at 'disabled' even with every tensor in the store.
    for (const r of rows.filter((x) => x.family === 'shape-like initializer'))
      assert.equal(r.modes['fast-open']!.servedBy, 'fast-open/disabled', r.model);
    assert.match(markdownTable(rows), /\| CI corpus \| op-reshape \|/);
  } finally {
    await roots.cleanup();
  }
});
