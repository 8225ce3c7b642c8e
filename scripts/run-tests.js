#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with Node's test runner.
// Node 20's --test takes no globs, so collect the files here. Every test has
// a 5-minute ceiling so a hung child process fails a test instead of CI.
// Tests must not see the caller's environment: the run exports canary
// TENSORSHARE_* paths inside a fresh folder and fails if anything is created
// there (a test daemon, server, CLI run or in-process default that read them);
// the config canary names a missing file, so a daemon that reads it fails.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filter = process.argv.slice(2);
let files = collect('dist', []).sort();
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files found under dist/');
  process.exit(1);
}
const canary = mkdtempSync(join(tmpdir(), 'ts-env-canary-'));
const env = {
  ...process.env,
  TENSORSHARE_REPOSITORY: join(canary, 'repository'),
  TENSORSHARE_STORE: join(canary, 'store'),
  TENSORSHARE_SOCKET: join(canary, 'daemon.sock'),
  TENSORSHARE_CONFIG: join(canary, 'config.json'),
  // Tests that load ONNX Runtime in their own process: no telemetry files in /tmp or ~/.cache (src/ort-telemetry.ts).
  ORT_DISABLE_TELEMETRY: '1',
  TENSORSHARE_DAEMON_PROFILE: join(canary, 'daemon-trace.json'),
  TENSORSHARE_PROFILE: join(canary, 'client-%p.json'),
};
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env },
);
const touched = readdirSync(canary);
rmSync(canary, { recursive: true, force: true });
if (touched.length) {
  console.error(
    `tests read the caller's environment: they created ${touched.join(', ')} at the canary TENSORSHARE_* paths in ${canary}; give every daemon, server and CLI run explicit roots and testEnv() (src/testing/env.ts)`,
  );
  process.exit(1);
}
process.exit(r.status ?? 1);
