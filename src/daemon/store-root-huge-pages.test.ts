// The huge-page store (store/huge-pages.ts, mounted by the daemon at start): a real tmpfs mounted with
// huge=within_size where this process may mount (root), files copied in
// presized get huge pages (read back from the test's own mapping in
// /proc/self/smaps) and a growing copy gets none; the fallback where it may
// not mount (a real unprivileged process), a store that already holds files,
// auto at a named store; and a real daemon started with hugePages on.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { pino } from 'pino';
import { TensorshareError } from '../errors.js';
import { copyPresized } from '../store/presized-copy.js';
import { testEnv } from '../testing/env.js';
import { killAll } from '../testing/daemon.js';
import { withTempDir } from '../testing/tmp.js';
import { startDaemon } from './daemon.js';
import { resolveDaemonConfig } from './settings.js';
import { hasHugePages, mountHugePageStore, parseMountInfo, systemMount } from '../store/huge-pages.js';

after(killAll);

const isRoot = process.geteuid?.() === 0;
const NOBODY = 65534;
const MODULE = fileURLToPath(new URL('../store/huge-pages.js', import.meta.url));

const umount = (dir: string) => execFileSync('umount', [dir], { stdio: 'ignore', env: testEnv() });
const mountOf = async (dir: string) =>
  parseMountInfo(await systemMount.mountInfo())
    .filter((e) => e.mountPoint === dir)
    .pop();

/** Maps `file` as ONNX Runtime maps initializers, touches its first page, and returns the KiB of it mapped with huge pages (smaps). */
function hugeMappedKb(file: string, bytes: number): number {
  const libc = koffi.load('libc.so.6');
  const openFile = libc.func('int open(const char *path, int flags)');
  const close = libc.func('int close(int fd)');
  const mmap = libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)');
  const munmap = libc.func('int munmap(void *addr, size_t len)');
  const fd = openFile(file, 0) as number;
  assert.ok(fd >= 0, `open ${file}`);
  const PROT_READ = 1;
  const MAP_PRIVATE = 2;
  const p = mmap(null, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  try {
    koffi.decode(p, 'uint8_t'); // the first touch: a fault that maps a huge page where the file has one
    const lines = readFileSync('/proc/self/smaps', 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith(`${koffi.address(p).toString(16)}-`));
    assert.ok(at >= 0, 'the mapping is in smaps');
    let kb = 0;
    for (const l of lines.slice(at + 1)) {
      if (/^[0-9a-f]+-/.test(l)) break;
      const m = /^(?:ShmemPmdMapped|FilePmdMapped):\s+(\d+)/.exec(l);
      if (m) kb += Number(m[1]);
    }
    return kb;
  } finally {
    munmap(p, bytes);
  }
}

describe('mountinfo', () => {
  test('mount points are unescaped and the super options follow the separator', () => {
    const text = [
      '22 1 0:21 / /dev/shm rw,nosuid,nodev shared:2 - tmpfs tmpfs rw,size=1024k',
      '90 22 0:55 / /dev/shm/a\\040b rw,relatime - tmpfs tensorshare-store rw,size=4096k,huge=within_size',
      'garbage',
    ].join('\n');
    assert.deepEqual(parseMountInfo(text), [
      { mountPoint: '/dev/shm', fsType: 'tmpfs', superOptions: ['rw', 'size=1024k'] },
      { mountPoint: '/dev/shm/a b', fsType: 'tmpfs', superOptions: ['rw', 'size=4096k', 'huge=within_size'] },
    ]);
  });
});

describe('the store on a huge-page tmpfs', { skip: isRoot ? false : 'mounting needs root' }, () => {
  test('on: mounts at an empty store, presized files get huge pages, a second call finds the mount', () =>
    withTempDir('/dev/shm', async (dir) => {
      const store = path.join(dir, 'store');
      await fs.mkdir(store, { mode: 0o755 });
      try {
        const first = await mountHugePageStore(store, 'on', { isDefaultStore: false });
        assert.equal(first.state, 'mounted', first.detail);
        assert.equal(first.hugePages, true);
        const m = await mountOf(store);
        assert.ok(m?.superOptions.includes('huge=within_size'), JSON.stringify(m));
        // The parent's size limit carries over (a fractional budget keeps its meaning).
        assert.equal(
          (await fs.statfs(store)).blocks * (await fs.statfs(store)).bsize,
          (await fs.statfs(dir)).blocks * (await fs.statfs(dir)).bsize,
        );
        assert.equal(((await fs.stat(store)).mode & 0o777).toString(8), '755');

        const bytes = 8 * 2 ** 20;
        const src = path.join(dir, 'weights.bin');
        await fs.writeFile(src, Buffer.alloc(bytes, 7));
        await copyPresized(src, path.join(store, 'presized'));
        await fs.copyFile(src, path.join(store, 'grown'));
        assert.deepEqual(await fs.readFile(path.join(store, 'presized')), await fs.readFile(src));
        assert.ok(hugeMappedKb(path.join(store, 'presized'), bytes) >= 2048, 'presized copy maps huge pages');
        assert.equal(hugeMappedKb(path.join(store, 'grown'), bytes), 0, 'a copy that grows the file gets none');

        const again = await mountHugePageStore(store, 'auto', { isDefaultStore: true });
        assert.equal(again.state, 'present', again.detail);
        assert.equal(again.hugePages, true);
      } finally {
        umount(store);
      }
    }));

  test('a real daemon with hugePages on starts on a huge-page store', () =>
    withTempDir('/dev/shm', async (dir) => {
      const store = path.join(dir, 'store');
      const d = await startDaemon(
        resolveDaemonConfig({
          env: {},
          flags: { store, repository: path.join(dir, 'repo'), hugePages: 'on', logLevel: 'silent' },
        }),
        { log: pino({ level: 'silent' }) },
      );
      try {
        assert.ok((await mountOf(store))?.superOptions.includes('huge=within_size'));
        assert.ok((await fs.readdir(store)).includes('.daemon'), 'the daemon claimed the mounted root');
      } finally {
        await d.close();
        umount(store);
      }
    }));
});

describe('where huge pages are not possible', () => {
  test('auto at a store the caller named: off, nothing mounted', () =>
    withTempDir('/dev/shm', async (dir) => {
      const r = await mountHugePageStore(dir, 'auto', { isDefaultStore: false });
      assert.equal(r.state, 'off');
      assert.equal(r.hugePages, false);
      assert.match(r.detail, /default store location/);
      assert.equal(await mountOf(dir), undefined);
    }));

  test('a store that already holds files: auto falls back naming them, on refuses', () =>
    withTempDir('/dev/shm', async (dir) => {
      await fs.mkdir(path.join(dir, 'tensors'));
      const r = await mountHugePageStore(dir, 'auto', { isDefaultStore: true });
      assert.equal(r.state, 'unavailable');
      assert.equal(r.hugePages, false);
      assert.match(r.detail, /already holds files \(tensors\)/);
      assert.match(r.detail, /4 KiB pages/);
      await assert.rejects(mountHugePageStore(dir, 'on', { isDefaultStore: true }), (e: unknown) => {
        assert.ok(e instanceof TensorshareError);
        assert.equal(e.code, 'ERR_UNAVAILABLE');
        assert.match(e.message, /hugePages on: .*already holds files/);
        return true;
      });
      assert.equal(await mountOf(dir), undefined);
    }));

  test('hugePages off: nothing is tried', async () => {
    const r = await mountHugePageStore('/nonexistent-never-read', 'off', { isDefaultStore: true });
    assert.deepEqual(r, { hugePages: false, state: 'off', detail: 'huge pages off (hugePages setting)' });
  });

  test(
    'an unprivileged daemon user: mount(8) fails, auto falls back with the reason, on refuses',
    { skip: isRoot ? false : 'needs root to run a child as another user' },
    () =>
      withTempDir('/dev/shm', async (dir) => {
        const store = path.join(dir, 'store');
        await fs.chmod(dir, 0o755); // mkdtemp's 0700 would keep the other user out
        await fs.mkdir(store, { mode: 0o755 });
        await fs.chown(store, NOBODY, NOBODY);
        const script = `import { mountHugePageStore } from ${JSON.stringify(MODULE)};
for (const mode of ['auto', 'on']) {
  try { console.log(JSON.stringify(await mountHugePageStore(${JSON.stringify(store)}, mode, { isDefaultStore: true }))); }
  catch (e) { console.log(JSON.stringify({ error: e.code, message: e.message })); }
}`;
        const out = await new Promise<string>((resolve, reject) =>
          execFile(
            process.execPath,
            ['--input-type=module', '-e', script],
            { uid: NOBODY, gid: NOBODY, env: testEnv(), cwd: '/' },
            (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
          ),
        );
        const [auto, on] = out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        assert.equal(auto.state, 'unavailable', JSON.stringify(auto));
        assert.equal(auto.hugePages, false);
        assert.match(
          auto.detail,
          /cannot mount a huge-page tmpfs at .*store \(mount: .+\); the store stays on 4 KiB pages$/,
        );
        assert.equal(on.error, 'ERR_UNAVAILABLE');
        assert.match(on.message, /hugePages on: cannot mount/);
        assert.equal(await mountOf(store), undefined);
        assert.deepEqual(await fs.readdir(store), [], 'nothing written into the store');
      }),
  );
});

test('hasHugePages reads the mount that holds a folder: the deepest mount point above it', async () => {
  await withTempDir('/dev/shm', async (dir) => {
    const real = await fs.realpath(dir);
    const line = (id: number, at: string, opts: string) => `${id} 1 0:${id} / ${at} rw - tmpfs tmpfs ${opts}`;
    const info = (...lines: string[]) => ({ mountInfo: async () => lines.join('\n') });
    const sub = path.join(dir, 'store');
    await fs.mkdir(sub);
    assert.equal(await hasHugePages(sub, info(line(1, '/', 'rw'), line(2, real, 'rw,huge=within_size'))), true);
    assert.equal(await hasHugePages(sub, info(line(1, '/', 'rw'), line(2, `${real}x`, 'rw,huge=within_size'))), false);
    assert.equal(await hasHugePages(sub, info(line(2, real, 'rw,huge=within_size'), line(3, sub, 'rw'))), false);
    // The copy into the store picks the presized copy exactly where this says yes.
    assert.equal(await hasHugePages(sub), false, 'a plain /dev/shm folder');
  });
});
