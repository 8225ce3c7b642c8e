// `npm start` under a process manager: systemd, Docker and Kubernetes signal
// the npm process only. The server and everything it started must exit too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { tempRoots } from '../testing/tmp.js';

/** Live (not zombie) descendants of a process, from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z') continue;
    children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = children.get(queue.shift()!) ?? [];
    out.push(...next);
    queue.push(...next);
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to the npm start process stops the server and its children`, async () => {
    const roots = await tempRoots(`npm-start-${signal}`);
    const functions = path.join(roots.dir, 'functions');
    fs.mkdirSync(functions);
    // The caller's TENSORSHARE_* must not reach the server; the roots are passed explicitly.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TENSORSHARE_')));
    const npm = spawn(
      'npm',
      [
        'start',
        '--',
        '--repository',
        roots.repository,
        '--store',
        roots.store,
        '--http-port',
        '0',
        '--grpc-port',
        '0',
        '--functions',
        functions,
        '--no-bundled',
        '--poll',
        '0',
      ],
      { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    npm.stderr!.on('data', (d) => {
      log += d;
    });
    const npmExited = new Promise<void>((r) => npm.on('exit', () => r()));
    let started: number[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        npm.stdout!.on('data', (d) => {
          out += d;
          if (/tensorshare serving .* on http:/.test(out)) resolve();
        });
        npm.on('exit', (code) => reject(new Error(`npm start exited (${code}) before serving: ${out}\n${log}`)));
      });
      started = descendants(npm.pid!);
      const daemon = started.find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('daemon'));
      assert.ok(
        daemon !== undefined,
        `the server started its daemon: ${started.map((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8')).join(' | ')}`,
      );

      npm.kill(signal);
      const stuck = new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 30_000).unref());
      assert.notEqual(await Promise.race([npmExited, stuck]), 'stuck', `npm did not exit 30 s after ${signal}`);
      // Graceful shutdown takes a moment; poll, bounded, for every process to be gone.
      for (let i = 0; i < 300 && started.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(started.filter(alive), [], `still running after ${signal} to npm: ${log}`);
    } finally {
      for (const p of started.filter(alive)) process.kill(p, 'SIGKILL');
      if (npm.exitCode === null) npm.kill('SIGKILL');
      await roots.cleanup();
    }
  });
}
