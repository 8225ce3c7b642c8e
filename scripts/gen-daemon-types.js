#!/usr/bin/env node
// Generates the daemon's gRPC message types (src/daemon/generated/) from
// proto/tensorshare/daemon.proto with @grpc/proto-loader's own generator,
// using the loader options the daemon loads the .proto with (LOADER_OPTIONS
// in src/daemon/proto.ts), then adds the `.js` extensions NodeNext needs.
// The output is committed; src/daemon/proto.test.ts regenerates it into a
// temporary folder and fails if it differs. Usage: gen-daemon-types.js [outDir]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'src/daemon/generated'));
const require = createRequire(import.meta.url);
const bin = path.join(
  path.dirname(require.resolve('@grpc/proto-loader/package.json')),
  'build/bin/proto-loader-gen-types.js',
);

fs.rmSync(outDir, { recursive: true, force: true });
const r = spawnSync(
  process.execPath,
  [
    bin,
    '--longs=Number',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--grpcLib=@grpc/grpc-js',
    '-I',
    'proto',
    '-O',
    outDir,
    'tensorshare/daemon.proto',
  ],
  { stdio: 'inherit', cwd: root },
);
if (r.status !== 0) process.exit(r.status ?? 1);

const files = (dir) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
for (const f of files(outDir)) {
  const text = fs.readFileSync(f, 'utf8').replace(/(from '\.{1,2}\/[^']+)(?<!\.js)'/g, "$1.js'");
  fs.writeFileSync(f, text);
}
