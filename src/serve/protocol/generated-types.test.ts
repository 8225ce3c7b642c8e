// The KServe gRPC message types in generated/ are committed (fresh clones need
// no build step) and must be what `npm run gen:kserve-types` makes from
// proto/kserve/grpc_predict_v2.proto today: this regenerates them into a
// temporary folder with the script's own command line and compares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../paths.js';
import { testEnv } from '../../testing/env.js';
import { LOADER_OPTIONS } from './grpc-codec.js';

const SCRIPT = 'gen:kserve-types';

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

test(`generated/ matches what \`npm run ${SCRIPT}\` makes from the .proto`, async () => {
  const pkg = JSON.parse(await fs.readFile(path.join(packageRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [cmd, ...args] = pkg.scripts[SCRIPT]!.split(/\s+/);
  assert.equal(cmd, 'proto-loader-gen-types');
  const outIndex = args.findIndex((a) => a.startsWith('--outDir='));
  assert.ok(outIndex >= 0, `${SCRIPT} names its folder with --outDir=`);
  const committed = path.join(packageRoot, args[outIndex]!.slice('--outDir='.length));
  // The __Output types describe messages decoded with LOADER_OPTIONS: the generator must be told the same.
  const o = LOADER_OPTIONS;
  const flags = [
    o.keepCase && '--keepCase',
    o.longs === String && '--longs=String',
    o.enums === String && '--enums=String',
    o.defaults && '--defaults',
    o.oneofs && '--oneofs',
  ];
  assert.deepEqual(
    flags.filter((f) => f && !args.includes(f)),
    [],
    `${SCRIPT} passes the generator the flags of LOADER_OPTIONS`,
  );

  const require = createRequire(import.meta.url);
  const loaderPkg = require.resolve('@grpc/proto-loader/package.json');
  const bin = path.join(path.dirname(loaderPkg), (require(loaderPkg) as { bin: Record<string, string> }).bin[cmd]!);

  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-kserve-types-'));
  try {
    args[outIndex] = `--outDir=${tmp}`;
    await promisify(execFile)(process.execPath, [bin, ...args], { cwd: packageRoot, env: testEnv() });
    const fresh = await listFiles(tmp);
    assert.ok(fresh.length > 0, 'the generator wrote files');
    const stale = `out of date with the .proto: run \`npm run ${SCRIPT}\` and commit the result`;
    assert.deepEqual(await listFiles(committed), fresh, `file list of ${committed} ${stale}`);
    for (const f of fresh) {
      assert.equal(
        await fs.readFile(path.join(committed, f), 'utf8'),
        await fs.readFile(path.join(tmp, f), 'utf8'),
        `${f} ${stale}`,
      );
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
});
