// The daemon's trust boundary on disk: at start it refuses a store (or
// repository, or socket folder) that another user could change: a root
// someone else created first (a squatter in world-writable /dev/shm,
// simulated by chowning a folder to uid 65534), a symlinked root or
// subfolder, a group/world-writable root, an unsafe folder above the root.
// Nothing is written into or chmodded through a refused folder.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { TensorshareError } from '../errors.js';
import { killAll, spawnDaemon } from '../testing/daemon.js';
import { withTempDir } from '../testing/tmp.js';
import { startDaemon } from './daemon.js';
import { resolveDaemonConfig } from './settings.js';

after(killAll);

const SQUATTER = 65534;
const octal = (m: number) => `0${(m & 0o7777).toString(8)}`;
const modeOf = async (p: string) => octal((await fs.lstat(p)).mode);

/** A world-writable sticky folder like /dev/shm, on tmpfs, removed afterwards. */
const inShm = <T>(fn: (shm: string) => Promise<T>) =>
  withTempDir('/dev/shm', async (shm) => {
    await fs.chmod(shm, 0o1777);
    return fn(shm);
  });

const start = (store: string, repository: string) =>
  startDaemon(resolveDaemonConfig({ env: {}, flags: { store, repository, logLevel: 'silent' } }), {
    log: pino({ level: 'silent' }),
  });

async function refused(p: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TensorshareError, String(e));
    assert.equal(e.code, 'ERR_PERMISSION_DENIED');
    for (const part of parts) {
      if (typeof part === 'string') assert.ok(e.message.includes(part), `${JSON.stringify(e.message)} names ${part}`);
      else assert.match(e.message, part);
    }
    return true;
  });
}

describe('the daemon refuses a store it cannot trust', () => {
  test('a store root another user created first: refused, naming path, owner and mode; nothing written into it', () =>
    inShm(async (shm) => {
      const store = path.join(shm, 'tensorshare');
      await fs.mkdir(store, { mode: 0o755 });
      await fs.chown(store, SQUATTER, SQUATTER);
      await refused(start(store, path.join(shm, 'repo')), store, `owner uid ${SQUATTER}`, 'mode 0755', 'another user');
      assert.deepEqual(await fs.readdir(store), [], 'no socket, pid file or tensors folder in the squatted root');
      assert.equal((await fs.lstat(store)).uid, SQUATTER);
    }));

  test('the real daemon process exits with that error on stderr', () =>
    inShm(async (shm) => {
      const store = path.join(shm, 'tensorshare');
      await fs.mkdir(store, { mode: 0o755 });
      await fs.chown(store, SQUATTER, SQUATTER);
      await assert.rejects(spawnDaemon(['--repository', path.join(shm, 'repo'), '--store', store]), (e: Error) => {
        assert.match(e.message, /daemon exited \(1\)/);
        assert.ok(e.message.includes(`refusing ${store} (owner uid ${SQUATTER}, mode 0755)`), e.message);
        return true;
      });
      assert.deepEqual(await fs.readdir(store), []);
    }));

  test('a symlinked store root: refused, and the folder it points to keeps its mode', () =>
    inShm(async (shm) => {
      const target = path.join(shm, 'elsewhere');
      await fs.mkdir(target, { mode: 0o700 });
      const store = path.join(shm, 'tensorshare');
      await fs.symlink(target, store);
      await refused(start(store, path.join(shm, 'repo')), store, 'symbolic link', target);
      assert.equal(await modeOf(target), '0700', 'not chmodded to 0755 through the link');
      assert.deepEqual(await fs.readdir(target), []);
    }));

  test('a group- or world-writable store root: refused, mode unchanged', () =>
    inShm(async (shm) => {
      for (const m of [0o775, 0o777]) {
        const store = path.join(shm, `s${octal(m)}`);
        await fs.mkdir(store);
        await fs.chmod(store, m);
        await refused(start(store, path.join(shm, 'repo')), store, `mode ${octal(m)}`, 'writable by group or others');
        assert.equal(await modeOf(store), octal(m));
        assert.deepEqual(await fs.readdir(store), []);
      }
    }));

  test('a symlinked or squatted subfolder (tensors/) of an owned root: refused', () =>
    inShm(async (shm) => {
      const store = path.join(shm, 'store-link');
      await fs.mkdir(store, { mode: 0o755 });
      const weights = path.join(shm, 'attacker-weights');
      await fs.mkdir(weights, { mode: 0o755 });
      await fs.symlink(weights, path.join(store, 'tensors'));
      await refused(start(store, path.join(shm, 'repo1')), path.join(store, 'tensors'), 'symbolic link');

      const store2 = path.join(shm, 'store-owned');
      await fs.mkdir(path.join(store2, 'tensors'), { recursive: true, mode: 0o755 });
      await fs.chown(path.join(store2, 'tensors'), SQUATTER, SQUATTER);
      await refused(start(store2, path.join(shm, 'repo2')), path.join(store2, 'tensors'), `owner uid ${SQUATTER}`);
    }));

  test('a folder above the root that another user owns, or that is world-writable without the sticky bit: refused', () =>
    inShm(async (shm) => {
      const theirs = path.join(shm, 'theirs');
      await fs.mkdir(theirs, { mode: 0o755 });
      await fs.chown(theirs, SQUATTER, SQUATTER);
      await refused(start(path.join(theirs, 'store'), path.join(shm, 'repo1')), theirs, 'a folder above');

      const open = path.join(shm, 'open');
      await fs.mkdir(open);
      await fs.chmod(open, 0o777);
      await refused(start(path.join(open, 'store'), path.join(shm, 'repo2')), open, 'not sticky');
    }));

  test('a repository another user owns: refused', () =>
    inShm(async (shm) => {
      const repo = path.join(shm, 'repo');
      await fs.mkdir(repo, { mode: 0o700 });
      await fs.chown(repo, SQUATTER, SQUATTER);
      await refused(start(path.join(shm, 'store'), repo), repo, `owner uid ${SQUATTER}`);
    }));

  test('a fresh root in a sticky world-writable folder: created with safe modes, and the daemon serves', () =>
    inShm(async (shm) => {
      const store = path.join(shm, 'tensorshare');
      const d = await start(store, path.join(shm, 'repo'));
      try {
        assert.equal(await modeOf(store), '0755');
        assert.equal(await modeOf(path.join(store, '.daemon')), '0700');
        assert.equal(await modeOf(path.join(store, 'tensors')), '0755');
        assert.equal(await modeOf(path.join(store, 'tmp')), '0700');
        assert.equal(await modeOf(path.join(shm, 'repo')), '0700');
        const sock = await fs.lstat(d.socket);
        assert.ok(sock.isSocket());
        assert.equal(octal(sock.mode), '0660');
      } finally {
        await d.close();
      }
    }));
});
