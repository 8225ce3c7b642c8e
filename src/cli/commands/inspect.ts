import type { Command } from 'commander';
import { listModels, listVariants, resolveModel } from '../../store/repository.js';
import { fastRunKey } from '../../store/fast-run.js';
import type { Manifest, VariantManifest } from '../../store/manifest.js';
import { usersByFile } from '../../store/maintenance.js';
import { action, emit, table } from '../output.js';
import { formatBytes } from '../../bytes.js';
import { roots } from '../context.js';
import { type DeviceResidency, readDevicesStatus, residencyCell, residencyOf } from '../../device/devices-status.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show a model: inputs, outputs, tensors, and which tensors other models share')
    .argument('<name[:version]>')
    .option('--json', 'print JSON')
    .action(
      action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
        const { repo, store } = roots(cmd);
        const m = await resolveModel(repo, ref);
        const self = `${m.name}:${m.version}`;
        const users = usersByFile(await listModels(repo));
        const tensors = m.tensors.map((t) => ({
          ...t,
          sharedWith: [...(users.get(t.sha256) ?? [])].filter((u) => u !== self),
        }));
        const variants = await listVariants(repo, m.digest);
        const result = {
          ...m,
          tensors,
          sharing: sharingSummary(tensors),
          variants,
          modes: modeAvailability(m, variants),
          gpu: residencyOf(readDevicesStatus(store), self),
          cpuExecutor: residencyOf(readDevicesStatus(store, 'cpu'), self),
        };
        const shape = (s: unknown[] | null) => (s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '?');
        emit(opts, result, (r) =>
          [
            `${self}  digest ${r.digest}`,
            `source ${r.source.file} (${formatBytes(r.source.bytes)}), producer '${r.producer}', IR ${r.irVersion}, opsets ${r.opsets.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(' ')}`,
            `default mode ${r.defaultMode}; fast-run variants: ${r.variants.map((v) => `${v.ortVersion}/${v.target}${v.status === 'unavailable' ? ` (unavailable: ${v.reason ?? 'no reason recorded'}; opens use fast-open)` : ''}`).join(', ') || 'none yet'}`,
            sharingLine(r.sharing),
            ...r.cpuExecutor.map((g) => `CPU executor: ${residencyCell([g], formatBytes, 'cpu')} ${residencyNote(g)}`),
            `GPU: ${r.gpu.length ? r.gpu.map((g) => `${residencyCell([g], formatBytes)} ${residencyNote(g)}`).join('; ') : 'not resident on a device'}`,
            '',
            table([['MODE', 'AVAILABLE', 'WHY'], ...r.modes.map((x) => [x.mode, x.available ? 'yes' : 'no', x.why])]),
            '',
            table([['INPUT', 'DTYPE', 'SHAPE'], ...r.inputs.map((i) => [i.name, i.dtype, shape(i.shape)])]),
            '',
            table([['OUTPUT', 'DTYPE', 'SHAPE'], ...r.outputs.map((i) => [i.name, i.dtype, shape(i.shape)])]),
            '',
            table([
              ['TENSOR', 'DTYPE', 'DIMS', 'SIZE', 'SHA256', 'SHARED WITH'],
              ...r.tensors.map((t) => [
                t.name,
                t.dtype,
                `[${t.dims.join(',')}]`,
                formatBytes(t.bytes),
                t.sha256.slice(0, 12),
                sharedWithCell(t.sharedWith),
              ]),
            ]),
          ].join('\n'),
        );
      }),
    );
}

export interface SharingSummary {
  /** Tensors (and their bytes) that at least one other model also uses. */
  sharedTensors: number;
  sharedBytes: number;
  /** Tensors only this model uses. */
  ownTensors: number;
  ownBytes: number;
  /** Other models that use at least one of its tensors. */
  models: number;
}

export function sharingSummary(tensors: readonly { bytes: number; sharedWith: readonly string[] }[]): SharingSummary {
  const s: SharingSummary = { sharedTensors: 0, sharedBytes: 0, ownTensors: 0, ownBytes: 0, models: 0 };
  const models = new Set<string>();
  for (const t of tensors) {
    if (t.sharedWith.length === 0) {
      s.ownTensors++;
      s.ownBytes += t.bytes;
      continue;
    }
    s.sharedTensors++;
    s.sharedBytes += t.bytes;
    for (const m of t.sharedWith) models.add(m);
  }
  s.models = models.size;
  return s;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

export function sharingLine(s: SharingSummary): string {
  if (s.sharedTensors === 0) return `sharing: none of its ${plural(s.ownTensors, 'tensor')} is used by another model`;
  return `sharing: ${plural(s.sharedTensors, 'tensor')} (${formatBytes(s.sharedBytes)}) shared with ${plural(s.models, 'other model')}, ${plural(s.ownTensors, 'tensor')} (${formatBytes(s.ownBytes)}) its own`;
}

/** Names up to SHARED_NAMES sharing models; beyond that a count and the first few (--json lists them all). */
export const SHARED_NAMES = 3;

export function sharedWithCell(names: readonly string[]): string {
  if (names.length === 0) return '-';
  if (names.length <= SHARED_NAMES) return names.join(' ');
  return `${names.length} models: ${names.slice(0, SHARED_NAMES).join(' ')} +${names.length - SHARED_NAMES} (--json lists all)`;
}

export interface ModeAvailability {
  mode: 'fast-open' | 'fast-run' | 'auto';
  available: boolean;
  why: string;
}

/** Whether each open mode can serve this model on this machine (ORT version and CPU), and why not. */
export function modeAvailability(
  m: Manifest,
  variants: readonly VariantManifest[],
  key = fastRunKey(),
): ModeAvailability[] {
  const unrunnable = m.runtime?.unrunnable;
  const level = m.runtime?.fastOpenLevel;
  const fastOpen: ModeAvailability = unrunnable
    ? { mode: 'fast-open', available: false, why: `${unrunnable.code}: ${unrunnable.message}` }
    : {
        mode: 'fast-open',
        available: true,
        why: level
          ? `loads at optimization level '${level}'`
          : 'not checked at import (imported before the runtime check)',
      };
  const v = variants.find((x) => fastRunKey(x.ortVersion, x.target) === key);
  const fastRun: ModeAvailability = unrunnable
    ? { mode: 'fast-run', available: false, why: `${unrunnable.code}: ONNX Runtime cannot run this model` }
    : !v
      ? {
          mode: 'fast-run',
          available: true,
          why: `variant for ${key} not built yet: the first fast-run open builds and checks it`,
        }
      : v.status === 'ok'
        ? {
            mode: 'fast-run',
            available: true,
            why: `variant built in ${v.buildMs} ms, checked against the model (probe ${v.probe ?? 'not recorded'})`,
          }
        : {
            mode: 'fast-run',
            available: false,
            why: `variant unavailable, opens use fast-open: ${v.reason ?? 'no reason recorded'}`,
          };
  const auto: ModeAvailability = fastOpen.available
    ? {
        mode: 'auto',
        available: true,
        why: fastRun.available
          ? 'opens in fast-open, switches to fast-run after the first run'
          : 'serves in fast-open only (fast-run unavailable)',
      }
    : {
        mode: 'auto',
        available: fastRun.available && v?.status === 'ok',
        why:
          fastRun.available && v?.status === 'ok'
            ? 'serves in fast-run (fast-open cannot load this model)'
            : 'no mode can load this model',
      };
  return [fastOpen, fastRun, auto];
}

/** `(measured, 2 clients)`: where a resident model's bytes come from, and who holds it. */
function residencyNote(g: DeviceResidency): string {
  return `(${g.measured ? 'measured' : 'estimated from the manifest'}, ${g.clients} client${g.clients === 1 ? '' : 's'})`;
}
