import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isaFlags, machineInfo, packageVersion, parseCpuInfo, parseMemInfo, probeDropCaches } from './machine.js';

const CPUINFO = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9654
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 amx_tile

processor\t: 1
model name\t: AMD EPYC 9654
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 amx_tile

processor\t: 2
model name\t: AMD EPYC 9654
physical id\t: 0
core id\t\t: 1
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 amx_tile
`;

test('parseCpuInfo counts logical and physical cores and keeps flags', () => {
  const c = parseCpuInfo(CPUINFO);
  assert.equal(c.model, 'AMD EPYC 9654');
  assert.equal(c.logicalCores, 3);
  assert.equal(c.physicalCores, 2);
  assert.deepEqual(isaFlags(c.flags), ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_bf16', 'amx_tile']);
});

test('parseMemInfo converts kB to bytes', () => {
  const m = parseMemInfo('MemTotal:       24683520 kB\nMemAvailable:   2048 kB\nHugePages_Total:       0\n');
  assert.equal(m.MemTotal, 24683520 * 1024);
  assert.equal(m.MemAvailable, 2048 * 1024);
  assert.equal(m.HugePages_Total, 0);
});

test('machineInfo of this machine is plausible (without dropping caches)', () => {
  const m = machineInfo({ probeDropCaches: false });
  assert.ok(m.logicalCores >= 1 && m.physicalCores >= 1 && m.physicalCores <= m.logicalCores);
  assert.ok(m.memTotalBytes > 0 && m.memAvailableBytes <= m.memTotalBytes);
  assert.match(m.node, /^v\d+\./);
  assert.equal(m.onnxruntimeNode, packageVersion('onnxruntime-node'));
  assert.match(m.onnxruntimeNode ?? '', /^\d+\.\d+\.\d+/);
  assert.equal(m.dropCaches.works, null);
  assert.equal(typeof m.dropCaches.writable, 'boolean');
  assert.equal(packageVersion('no-such-package-tensorshare'), null);
});

test('probeDropCaches reports a fake /proc honestly (no real cache drop)', () => {
  const root = mkdtempSync(join(tmpdir(), 'tensorshare-fakeproc-'));
  try {
    mkdirSync(join(root, 'sys/vm'), { recursive: true });
    writeFileSync(join(root, 'sys/vm/drop_caches'), '');
    writeFileSync(join(root, 'meminfo'), 'MemTotal: 100 kB\nCached: 50 kB\nShmem: 0 kB\n');
    const p = probeDropCaches(tmpdir(), 1 << 20, root);
    assert.equal(p.writable, true);
    assert.equal(p.works, false); // Cached did not fall
    assert.equal(readFileSync(join(root, 'sys/vm/drop_caches'), 'utf8'), '1');
    const missing = probeDropCaches(tmpdir(), 1 << 20, join(root, 'nowhere'));
    assert.deepEqual([missing.writable, missing.works], [false, false]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
