import type { Command } from 'commander';
import { listModels, listVariants, resolveModel } from '../../store/repository.js';
import { usersByFile } from '../../store/maintenance.js';
import { action, emit, table } from '../output.js';
import { formatBytes } from '../../bytes.js';
import { roots } from '../context.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show a model: inputs, outputs, tensors, and which tensors other models share')
    .argument('<name[:version]>')
    .option('--json', 'print JSON')
    .action(action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const { repo } = roots(cmd);
      const m = await resolveModel(repo, ref);
      const self = `${m.name}:${m.version}`;
      const users = usersByFile(await listModels(repo));
      const tensors = m.tensors.map((t) => ({ ...t, sharedWith: [...(users.get(t.sha256) ?? [])].filter((u) => u !== self) }));
      const variants = await listVariants(repo, m.digest);
      const result = { ...m, tensors, variants };
      const shape = (s: unknown[] | null) => (s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '?');
      emit(opts, result, (r) => [
        `${self}  digest ${r.digest}`,
        `source ${r.source.file} (${formatBytes(r.source.bytes)}), producer '${r.producer}', IR ${r.irVersion}, opsets ${r.opsets.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(' ')}`,
        `default mode ${r.defaultMode}; fast-run variants: ${r.variants.map((v) => `${v.ortVersion}/${v.target}${v.status === 'unavailable' ? ` (unavailable: ${v.reason ?? 'no reason recorded'}; opens use fast-open)` : ''}`).join(', ') || 'none yet'}`,
        '',
        table([['INPUT', 'DTYPE', 'SHAPE'], ...r.inputs.map((i) => [i.name, i.dtype, shape(i.shape)])]),
        '',
        table([['OUTPUT', 'DTYPE', 'SHAPE'], ...r.outputs.map((i) => [i.name, i.dtype, shape(i.shape)])]),
        '',
        table([['TENSOR', 'DTYPE', 'DIMS', 'SIZE', 'SHA256', 'SHARED WITH'], ...r.tensors.map((t) => [t.name, t.dtype, `[${t.dims.join(',')}]`, formatBytes(t.bytes), t.sha256.slice(0, 12), t.sharedWith.join(' ') || '-'])]),
      ].join('\n'));
    }));
}
