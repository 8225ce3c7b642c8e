#!/usr/bin/env node
// Build step after tsc: rewrites dist/src/client/device-open.js as one module
// holding the device client (the device session, framing, the shared-memory
// transport and its mappings). A fresh executor client (a GPU function's
// instance, an unchanged app with executionProviders ['cuda'], a CPU
// executor's instance) imports it before its first open; Node's ES module
// loader costs about 0.7 ms per file here, and the ten files as one took
// 6-9 ms less of a fresh process's imports (docs/benchmarks.md, GPU tier).
// Modules with state other code must share (errors.js's TensorshareError,
// whose instanceof checks span the process; ort-tensor.js's cached class)
// and everything outside the device client stay separate imports: only the
// files listed in INLINE are folded in, and each keeps its own copy of module
// state only where a process also imports that file directly (the CLI's gpu
// command, tests and benchmarks that call deviceControl; their connections
// are their own either way).
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'rolldown';

const dist = path.resolve('dist/src');
const entry = path.join(dist, 'client/device-open.js');
const INLINE = [
  'client/device-open.js',
  'device/device-session.js',
  'device/framing.js',
  'device/awake.js',
  'device/mapping.js',
  'device/transfer.js',
  'device/tensors.js',
  'device/protocol.js',
  'shm/segment.js',
  'shm/allocator.js',
].map((f) => path.join(dist, f));
const inline = new Set(INLINE);

for (const f of INLINE)
  if (!fs.existsSync(f)) {
    console.error(`bundle-device-client: ${path.relative(process.cwd(), f)} is missing; run tsc first`);
    process.exit(1);
  }

const bundled = path.join(dist, 'client/device-open.bundle.tmp.js');
await build({
  input: entry,
  platform: 'node',
  logLevel: 'warn',
  // A relative import stays an import unless it names an INLINE file; packages and node: modules always do.
  external: (id, importer) => {
    if (!importer) return false;
    if (!id.startsWith('.') && !id.startsWith('/')) return true;
    return !inline.has(path.resolve(path.dirname(importer), id));
  },
  output: { file: bundled, format: 'esm', codeSplitting: false },
});
// The bundle lives where device-open.js was, so its relative imports and import.meta.url resolve as before.
fs.renameSync(bundled, entry);
fs.rmSync(`${entry}.map`, { force: true });
