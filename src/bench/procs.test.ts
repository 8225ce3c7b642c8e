// The benchmark's process pool kills what it adopted (a store's daemon) as it
// kills its workers: on killAll, and when the benchmark gets SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { testEnv } from '../testing/env.js';
import { WorkerPool } from './procs.js';

const idleChild = () =>
  spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { env: testEnv(), stdio: 'ignore' });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('an adopted child is killed by killAll', async () => {
  const pool = new WorkerPool(testEnv());
  const child = idleChild();
  pool.adopt(child);
  await pool.killAll();
  assert.equal(child.signalCode, 'SIGKILL');
});

test('a SIGTERM to a guarded benchmark kills the child it adopted', async () => {
  // A benchmark process in miniature: a guarded pool that adopted an idle child, whose pid it prints.
  const script = `
    import { spawn } from 'node:child_process';
    const { WorkerPool } = await import(${JSON.stringify(new URL('./procs.js', import.meta.url).href)});
    const pool = new WorkerPool(process.env);
    pool.guard();
    const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { env: process.env, stdio: 'ignore' });
    pool.adopt(c);
    console.log(c.pid);
    setTimeout(() => {}, 60_000);
  `;
  const bench = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: testEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    bench.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    bench.once('exit', (code) => reject(new Error(`the benchmark process exited (${code}) before printing`)));
  });
  assert.equal(alive(pid), true);
  const exited = new Promise<number | null>((r) => bench.once('exit', (code) => r(code)));
  bench.kill('SIGTERM');
  assert.equal(await exited, 143);
  // SIGKILL was sent before the exit: poll the kernel's view until the pid has gone.
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(pid), false, 'the adopted child was killed');
});
