// Where a device executor's threads run (gpuCpus): CPU lists as sysfs and
// taskset write them, the GPU's local CPUs from a sysfs folder, the choice
// between them and what the process may use, and a real pinning of every
// thread of a child process (read back from /proc), with its fallback.
import { describe, test } from 'node:test';
import { testEnv } from '../testing/env.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseCpus, localCpus, parseCpuList, parseCpuSetting } from './cpu-list.js';

describe('gpuCpus', () => {
  test('CPU lists: single CPUs and ranges, sorted and unique; anything else is a clear error', () => {
    assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
    assert.deepEqual(parseCpuList('5,1-2,2'), [1, 2, 5]);
    for (const bad of ['', '3-1', 'a', '1,,2', '0-1024', '-1'])
      assert.throws(() => parseCpuList(bad, 'gpuCpus'), {
        code: 'ERR_INVALID_ARGUMENT',
        message: /^gpuCpus: expected/,
      });
    assert.equal(parseCpuSetting('auto', 'x'), 'auto');
    assert.equal(parseCpuSetting(' off ', 'x'), 'off');
    assert.deepEqual(parseCpuSetting('0-1', 'x'), [0, 1]);
  });

  test("the GPU's local CPUs come from sysfs local_cpulist of its PCI address; missing or empty says nothing", () => {
    const sysfs = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-sysfs-'));
    try {
      fs.mkdirSync(path.join(sysfs, '0000:18:00.0'));
      fs.writeFileSync(path.join(sysfs, '0000:18:00.0', 'local_cpulist'), '0-7,16-23\n');
      fs.mkdirSync(path.join(sysfs, '0000:19:00.0'));
      fs.writeFileSync(path.join(sysfs, '0000:19:00.0', 'local_cpulist'), '\n');
      assert.deepEqual(localCpus('0000:18:00.0', sysfs), [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
      assert.deepEqual(localCpus('0000:18:00.0'.toUpperCase(), sysfs)?.length, 16);
      assert.equal(localCpus('0000:19:00.0', sysfs), undefined);
      assert.equal(localCpus('0000:aa:00.0', sysfs), undefined);
    } finally {
      fs.rmSync(sysfs, { recursive: true, force: true });
    }
  });

  test('the choice: local CPUs the process may use; nothing when they are all of them, unknown, or none allowed', () => {
    const all = [0, 1, 2, 3, 4, 5, 6, 7];
    assert.deepEqual(chooseCpus('auto', [0, 1, 2, 3, 12], all), { cpus: [0, 1, 2, 3] });
    assert.match((chooseCpus('auto', all, all) as { reason: string }).reason, /all the CPUs this process may use/);
    assert.match((chooseCpus('auto', undefined, all) as { reason: string }).reason, /local CPUs are unknown/);
    assert.match((chooseCpus([9, 10], undefined, all) as { reason: string }).reason, /none of CPUs 9,10/);
    // An explicit list is taken as it is, even when it names every CPU.
    assert.deepEqual(chooseCpus(all, undefined, all), { cpus: all });
    assert.deepEqual(chooseCpus('off', [0], all), { reason: 'gpuCpus is off' });
  });

  test('pinning sets every thread of the process; a placement that cannot be made is a log line, not an error', () => {
    const mod = new URL('./cpu-affinity.js', import.meta.url).href;
    const script = `
      import fs from 'node:fs';
      import { Worker } from 'node:worker_threads';
      const { allowedCpus, placeThreads } = await import(${JSON.stringify(mod)});
      const lines = [];
      const log = (l) => lines.push(l);
      const unknown = placeThreads('auto', undefined, log);
      const none = placeThreads([1023], undefined, log);
      const first = allowedCpus()[0];
      const pinned = placeThreads([first], undefined, log);
      // A thread made after the pinning inherits it.
      const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
      await new Promise((r) => w.once('online', r));
      const masks = fs.readdirSync('/proc/self/task').map((t) =>
        /Cpus_allowed_list:\\s*(\\S+)/.exec(fs.readFileSync('/proc/self/task/' + t + '/status', 'utf8'))[1]);
      await w.terminate();
      console.log(JSON.stringify({ unknown, none, pinned, first, masks, lines }));
    `;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: testEnv() }),
    );
    assert.deepEqual(out.unknown, []);
    assert.deepEqual(out.none, []);
    assert.deepEqual(out.pinned, [out.first]);
    assert.ok(out.masks.length >= 2, 'the main thread and more');
    for (const m of out.masks) assert.equal(m, String(out.first), 'every thread, the later worker too');
    assert.match(out.lines[0], /^threads not pinned: the GPU's local CPUs are unknown/);
    assert.match(out.lines[1], /^threads not pinned: none of CPUs 1023/);
    assert.match(out.lines[2], new RegExp(`^threads pinned to CPUs ${out.first}: (\\d+) of \\1$`));
  });
});
