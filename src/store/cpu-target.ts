import { nodeCrypto } from './crypto.js';
import fs from 'node:fs';

// Prepacked weight layouts depend on the kernels ONNX Runtime's MLAS picks,
// which depend on the CPU's instruction sets. A fast-run variant is therefore
// keyed by the ISA features MLAS dispatches on; a host with other features
// builds its own variant.
const X86_FEATURES = [
  'sse4_1',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512dq',
  'avx512vl',
  'avx512_vnni',
  'avx_vnni',
  'avx512_bf16',
  'avx512_fp16',
  'amx_tile',
  'amx_bf16',
  'amx_int8',
];
const ARM_FEATURES = ['asimd', 'asimddp', 'fphp', 'asimdhp', 'sve', 'sve2', 'i8mm', 'bf16', 'sme'];

export function cpuFlags(cpuinfo = safeRead('/proc/cpuinfo')): Set<string> {
  const line = cpuinfo.split('\n').find((l) => /^(flags|Features)\s*:/.test(l)) ?? '';
  return new Set(
    line
      .replace(/^[^:]*:/, '')
      .trim()
      .split(/\s+/)
      .filter(Boolean),
  );
}

function safeRead(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** e.g. "x64-avx512-3f2a9c1d": arch, the widest vector level, and a hash of every relevant feature. */
export function cpuTarget(flags = cpuFlags(), arch: string = process.arch): string {
  const relevant = (arch === 'arm64' ? ARM_FEATURES : X86_FEATURES).filter((f) => flags.has(f));
  const level = flags.has('avx512f')
    ? 'avx512'
    : flags.has('avx2')
      ? 'avx2'
      : flags.has('sve')
        ? 'sve'
        : flags.has('asimd')
          ? 'neon'
          : 'base';
  const hash = nodeCrypto().createHash('sha256').update(relevant.join(',')).digest('hex').slice(0, 8);
  return `${arch}-${level}-${hash}`;
}
