import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { packageRoot } from '../paths.js';
import { isTensorshareError } from '../errors.js';
import { writeChain } from '../testing/models.js';
import {
  parseAnonymousByKind,
  parseSmapsByFile,
  parseSmapsRollup,
  readAnonymousByKind,
  readSmapsByFile,
  readSmapsRollup,
  sumRollups,
} from './smaps.js';
import { testEnv } from '../testing/env.js';

const ROLLUP_TEXT = `55caf5efa000-7ffd57289000 ---p 00000000 00:00 0                          [rollup]
Rss:                1748 kB
Pss:                 432 kB
Pss_Dirty:           116 kB
Pss_Anon:            116 kB
Pss_File:            316 kB
Pss_Shmem:             0 kB
Shared_Clean:       1568 kB
Shared_Dirty:          0 kB
Private_Clean:        64 kB
Private_Dirty:       116 kB
Referenced:         1748 kB
Swap:                  0 kB
`;

const SMAPS_TEXT = `7f0000000000-7f0000100000 rw-p 00000000 00:1b 9                          /dev/shm/st/m/model.data
Size:               1024 kB
Rss:                1024 kB
Pss:                 512 kB
Shared_Clean:          0 kB
Shared_Dirty:       1024 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
VmFlags: rd wr mr mw me ac sd
7f0000100000-7f0000200000 rw-p 00100000 00:1b 9                          /dev/shm/st/m/model.data
Size:               1024 kB
Rss:                 512 kB
Pss:                 256 kB
Shared_Dirty:        512 kB
7f0000200000-7f0000201000 r--p 00000000 00:1b 10                         /dev/shm/st/m/old weights.bin (deleted)
Size:                  4 kB
Rss:                   4 kB
Pss:                   4 kB
Private_Clean:         4 kB
7f0000300000-7f0000301000 r--p 00000000 00:1b 11                         /dev/shm/st-other/x.bin
Size:                  4 kB
Rss:                   4 kB
Pss:                   4 kB
7f0000400000-7f0000401000 rw-p 00000000 00:00 0                          [heap]
Size:                  4 kB
Rss:                   4 kB
`;

const KB = 1024;

test('parseSmapsRollup reads every field in bytes', () => {
  const r = parseSmapsRollup(ROLLUP_TEXT);
  assert.deepEqual(r, {
    rss: 1748 * KB,
    pss: 432 * KB,
    pssAnon: 116 * KB,
    pssFile: 316 * KB,
    pssShmem: 0,
    sharedClean: 1568 * KB,
    sharedDirty: 0,
    privateClean: 64 * KB,
    privateDirty: 116 * KB,
    swap: 0,
  });
  assert.throws(
    () => parseSmapsRollup('nothing here'),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
});

test('sumRollups adds field-wise', () => {
  const r = parseSmapsRollup(ROLLUP_TEXT);
  const s = sumRollups([r, r, r]);
  assert.equal(s.pss, 3 * r.pss);
  assert.equal(s.privateDirty, 3 * r.privateDirty);
  assert.equal(sumRollups([]).rss, 0);
});

test('parseSmapsByFile groups mappings per file under a folder only', () => {
  const files = parseSmapsByFile(SMAPS_TEXT, '/dev/shm/st/');
  assert.deepEqual(
    files.map((f) => f.path),
    ['/dev/shm/st/m/model.data', '/dev/shm/st/m/old weights.bin'],
  );
  const [data, old] = files;
  assert.equal(data!.mappings, 2);
  assert.equal(data!.size, 2048 * KB);
  assert.equal(data!.rss, 1536 * KB);
  assert.equal(data!.pss, 768 * KB);
  assert.equal(data!.sharedDirty, 1536 * KB);
  assert.equal(old!.deleted, true);
  assert.equal(old!.privateClean, 4 * KB);
  // '/' selects every file-backed mapping, never [heap] and the like.
  assert.equal(parseSmapsByFile(SMAPS_TEXT, '/').length, 3);
});

test('readSmapsRollup of this process is plausible; a missing pid is a typed error', () => {
  const r = readSmapsRollup(process.pid);
  assert.ok(r.rss > 1024 * KB && r.pss > 0 && r.pss <= r.rss);
  assert.ok(r.pssAnon + r.pssFile + r.pssShmem <= r.pss + 4 * KB);
  assert.throws(
    () => readSmapsRollup(2 ** 22 + 7),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
});

/** Spawns `node -e script` from the package root and waits for its first stdout line "ready". */
async function spawnReady(script: string, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', script, ...args], {
    cwd: packageRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: testEnv(),
  });
  let buf = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before ready`)));
  });
  await ready;
  return child;
}

async function kill(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.kill('SIGKILL');
      await exited;
    }),
  );
}

test('ORT maps external weights on /dev/shm in place and two processes share them', async () => {
  const dir = mkdtempSync('/dev/shm/tensorshare-smaps-');
  const children: ChildProcess[] = [];
  try {
    // 256 x 256 float32 weights are 64 pages each, so every tensor starts page-aligned in model.data and ORT maps it in place.
    const modelPath = await writeChain(dir, 'model', { width: 256, layers: 4 }, 'external-single');
    const script = `
      const ort = require('onnxruntime-node');
      (async () => {
        const s = await ort.InferenceSession.create(process.argv[1], { intraOpNumThreads: 1, extra: { session: { disable_prepacking: '1' } } });
        await s.run({ x: new ort.Tensor('float32', new Float32Array(256).fill(1), [1, 256]) });
        console.log('ready');
        setInterval(() => {}, 1000);
      })().catch((e) => { console.error(e); process.exit(1); });`;
    children.push(await spawnReady(script, [modelPath]));
    children.push(await spawnReady(script, [modelPath]));
    const fileBytes = 4 * 256 * 256 * 4;
    for (const c of children) {
      const files = readSmapsByFile(c.pid!, dir);
      assert.deepEqual(
        files.map((f) => path.basename(f.path)),
        ['model.data'],
        JSON.stringify(files),
      );
      const data = files[0]!;
      assert.equal(data.mappings, 4); // one mapping per initializer
      assert.equal(data.rss, fileBytes); // every weight page is resident
      // Both processes map the same tmpfs pages: each is charged half.
      assert.equal(data.pss, fileBytes / 2);
      assert.equal(data.privateClean + data.privateDirty, 0);
    }
    const both = sumRollups(children.map((c) => readSmapsRollup(c.pid!)));
    assert.ok(both.pssShmem >= fileBytes, `Pss_Shmem of both ${both.pssShmem} < ${fileBytes}`);
    const summed = children.reduce((sum, c) => sum + readSmapsByFile(c.pid!, dir)[0]!.pss, 0);
    assert.equal(summed, fileBytes); // the file's pages are counted once in total
  } finally {
    await kill(children);
    rmSync(dir, { recursive: true, force: true });
  }
});

const ANON_TEXT = `5600000000-5600a00000 rw-p 00000000 00:00 0                          [heap]
Size:              10240 kB
Anonymous:          9000 kB
7f0000000000-7f0000800000 rw-p 00000000 00:00 0
Size:               8192 kB
Anonymous:          6000 kB
7f0001000000-7f0001001000 r--p 00100000 fd:01 77                         /usr/lib/libonnxruntime.so.1
Size:                  4 kB
Anonymous:             4 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Anonymous:            40 kB
`;

test('parseAnonymousByKind splits private bytes: main heap, file copy-on-write, other mappings', () => {
  assert.deepEqual(parseAnonymousByKind(ANON_TEXT), { heap: 9000 * KB, files: 4 * KB, other: 6040 * KB });
  // This process (nothing shared with a parent): the parts add up to its Pss_Anon.
  const own = readAnonymousByKind(process.pid);
  const total = readSmapsRollup(process.pid).pssAnon;
  assert.ok(own.heap > 0 && own.other > 0);
  const sum = own.heap + own.files + own.other;
  assert.ok(Math.abs(sum - total) < total * 0.1, `parts ${sum} vs Pss_Anon ${total}`);
});
