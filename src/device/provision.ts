// `tensorshare gpu provision --from <folder or tarball>`: places ONNX
// Runtime's CUDA provider beside onnxruntime-node's binding, from what the
// user has (the official install flag's download, a redistribution such as
// com.github.asus4.onnxruntime.linux-x64-gpu, or a folder), then checks it in
// a fresh process: the provider loads, a tiny model runs, and its output
// matches the CPU provider's. Every failure names what is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { bindingFolder, CUDA_PROVIDER_FILES } from './provider.js';

export interface ProvisionResult {
  folder: string;
  copied: { file: string; bytes: number }[];
  check: ProviderCheck;
}

export interface ProviderCheck {
  ok: boolean;
  /** Largest |cuda - cpu| over the tiny model's output. */
  maxAbsDiff?: number;
  createMs?: number;
  error?: string;
}

function findFiles(root: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if ((CUDA_PROVIDER_FILES as readonly string[]).includes(e.name) && !found.has(e.name)) found.set(e.name, p);
    }
  };
  walk(root);
  return found;
}

export function provisionCuda(from: string, folder = bindingFolder()): ProvisionResult {
  if (!fs.existsSync(from))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `--from ${from}: no such file or folder`);
  let src = from;
  let tmp: string | undefined;
  if (fs.statSync(from).isFile()) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-provision-'));
    try {
      execFileSync('tar', ['-xf', from, '-C', tmp], { stdio: 'pipe' });
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `--from ${from}: not a tarball tar can read (${(e as Error).message.split('\n')[0]})`,
      );
    }
    src = tmp;
  }
  try {
    const found = findFiles(src);
    const missing = CUDA_PROVIDER_FILES.filter((f) => !found.has(f));
    if (missing.length)
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `--from ${from} has no ${missing.join(' or ')}: it must hold ONNX Runtime's CUDA provider (libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so)`,
        { missing },
      );
    const copied = CUDA_PROVIDER_FILES.map((f) => {
      const to = path.join(folder, f);
      fs.copyFileSync(found.get(f)!, `${to}.tmp`);
      fs.chmodSync(`${to}.tmp`, 0o755);
      fs.renameSync(`${to}.tmp`, to);
      return { file: to, bytes: fs.statSync(to).size };
    });
    writeProvisionRecord(folder, {
      source: path.basename(from),
      ...describeSource(src),
      installedAt: new Date().toISOString(),
    });
    return { folder, copied, check: checkCudaProvider() };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface ProvisionRecord {
  /** The folder or tarball it came from (its name). */
  source: string;
  /** `name@version` of the package it came in, when it came in one. */
  package?: string;
  /** ONNX Runtime version of the provider, when the source says it. */
  onnxruntime?: string;
  installedAt: string;
}

const RECORD = 'tensorshare-cuda-provider.json';

/** What the source says about itself: a package.json's name and version, a README's "ONNX Runtime: x.y.z". */
function describeSource(root: string): { package?: string; onnxruntime?: string } {
  const out: { package?: string; onnxruntime?: string } = {};
  for (const dir of [root, path.join(root, 'package')]) {
    try {
      const p = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (p.name && p.version) out.package ??= `${p.name}@${p.version}`;
    } catch {}
    try {
      const v = /ONNX Runtime[^0-9\n]{0,8}(\d+\.\d+\.\d+)/.exec(
        fs.readFileSync(path.join(dir, 'README.md'), 'utf8'),
      )?.[1];
      if (v) out.onnxruntime ??= v;
    } catch {}
  }
  return out;
}

function writeProvisionRecord(folder: string, r: ProvisionRecord): void {
  fs.writeFileSync(path.join(folder, RECORD), `${JSON.stringify(r, null, 2)}\n`);
}

/** The record `gpu provision` left beside the binding, if any. */
export function readProvisionRecord(folder = bindingFolder()): ProvisionRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(folder, RECORD), 'utf8')) as ProvisionRecord;
  } catch {
    return undefined;
  }
}

// A fresh process, so a provider that crashes on load ends only the check. The model: y = x W (8x8).
const CHECK = `
import ort from 'onnxruntime-node';
import { onnxTypes } from ${JSON.stringify(new URL('../onnx/schema.js', import.meta.url).href)};
const { Model } = onnxTypes();
const w = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
const vi = (name) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'b' }, { dimValue: 8 }] } } } });
const bytes = Model.encode(Model.fromObject({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: { name: 'check',
  node: [{ input: ['x', 'w'], output: ['y'], opType: 'MatMul' }], initializer: [{ name: 'w', dims: [8, 8], dataType: 1, rawData: Buffer.from(w.buffer) }],
  input: [vi('x')], output: [vi('y')] } })).finish();
const x = new ort.Tensor('float32', Float32Array.from({ length: 32 }, (_, i) => i / 7), [4, 8]);
const t0 = performance.now();
const gpu = await ort.InferenceSession.create(bytes, { executionProviders: ['cuda'], logSeverityLevel: 3 });
const createMs = performance.now() - t0;
const cpu = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
const a = (await gpu.run({ x })).y.data, b = (await cpu.run({ x })).y.data;
let d = 0; for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
process.stdout.write(JSON.stringify({ maxAbsDiff: d, createMs }));
`;

/** Loads the CUDA provider in a fresh process, runs a tiny model on it and compares with the CPU provider. */
export function checkCudaProvider(): ProviderCheck {
  // From the package's folder: `-e` code resolves 'onnxruntime-node' from the working directory.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHECK], {
    cwd: packageRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) {
    const text = `${r.stderr ?? ''}`.trim();
    // The loader names the first library it cannot find (libcublasLt.so.13, libcudnn.so.9, ...).
    const lib = /(lib[\w.+-]+\.so[.\d]*): cannot open shared object file/.exec(text)?.[1];
    const error = lib
      ? `the CUDA provider needs ${lib}, which the loader cannot find: put the CUDA libraries (cuBLAS, cuDNN, cudart, cuRAND) on LD_LIBRARY_PATH`
      : `the CUDA provider did not run: ${text.split('\n').filter(Boolean).slice(-3).join(' ')}`;
    return { ok: false, error };
  }
  const v = JSON.parse(r.stdout) as { maxAbsDiff: number; createMs: number };
  // TF32 math on the GPU differs from the CPU's fp32 by about 1e-3 at most on this model.
  return {
    ok: v.maxAbsDiff < 1e-2,
    ...v,
    error: v.maxAbsDiff < 1e-2 ? undefined : `CUDA and CPU outputs differ by ${v.maxAbsDiff}`,
  };
}
