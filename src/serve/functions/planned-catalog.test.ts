import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withTempDir } from '../../testing/tmp.js';
import { parsePlanFile } from '../../plan/plan-file.js';
import { folderCatalog } from './repository.js';
import { plannedCatalog, unknownPlanned } from './planned-catalog.js';

test("serve --plan: planned functions read with the plan's instances, threads, batch cap and device; others unchanged", async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    for (const [name, config] of [
      ['ocr', { model: 'm', intraOpThreads: 2, batching: { maxBatchSize: 16, preferredBatchSizes: [4, 16] } }],
      ['vad', { model: 'v', maxInstances: 3 }],
      ['other', { model: 'o' }],
    ] as const) {
      await fs.mkdir(path.join(dir, name));
      await fs.writeFile(path.join(dir, name, 'config.json'), JSON.stringify(config));
    }
    const plan = parsePlanFile(
      {
        format: 'tensorshare.plan/v1',
        functions: {
          ocr: { instances: 2, intraOpThreads: 1, maxBatchSize: 8 },
          vad: { instances: 1, intraOpThreads: 3, maxBatchSize: 1, device: 'gpu:1' },
        },
      },
      'plan.json',
    );
    const catalog = plannedCatalog(folderCatalog(dir), plan);
    const ocr = (await catalog.read('ocr')).config;
    assert.equal(ocr.minInstances, 2);
    assert.equal(ocr.maxInstances, 2);
    assert.equal(ocr.intraOpThreads, 1);
    assert.deepEqual(ocr.batching, { maxBatchSize: 8, preferredBatchSizes: [4] });
    const vad = (await catalog.read('vad')).config;
    assert.deepEqual(
      [vad.minInstances, vad.maxInstances, vad.intraOpThreads, vad.device, vad.batching],
      [1, 1, 3, { gpu: 1 }, undefined],
    );
    assert.deepEqual((await catalog.read('other')).config, (await folderCatalog(dir).read('other')).config);
    assert.deepEqual(await unknownPlanned(catalog, plan), []);
    const typo = parsePlanFile(
      { format: 'tensorshare.plan/v1', functions: { orc: { instances: 1, intraOpThreads: 1, maxBatchSize: 1 } } },
      'plan.json',
    );
    assert.deepEqual(await unknownPlanned(catalog, typo), ['orc'], 'serve warns about what this names');
  });
});
