// `tensorshare gen <bert|resnet50|mlp>`: writes deterministic synthetic models
// (see src/gen/README.md).

import { Argument, type Command, InvalidArgumentError, Option } from 'commander';
import { performance } from 'node:perf_hooks';
import { TensorshareError } from '../../errors.js';
import { action } from '../output.js';
import { formatBytes } from '../../bytes.js';
import {
  bert,
  BERT_TINY,
  fineTuned,
  mlp,
  MLP_BIG,
  MLP_TINY,
  OUTPUT_FORMATS,
  resnet50,
  RESNET_TINY,
  variantPath,
  writeModel,
  type ModelKind,
  type ModelSpec,
  type OutputFormat,
  type WriteResult,
} from '../../gen/index.js';

interface GenOptions {
  out: string;
  preset?: 'tiny' | 'full' | 'big';
  layers?: number;
  hidden?: number;
  heads?: number;
  intermediate?: number;
  vocab?: number;
  maxPositions?: number;
  pooler?: boolean;
  width?: number;
  widthMultiplier?: number;
  blocks?: number[];
  imageSize?: number;
  classes?: number;
  format: OutputFormat;
  alignment?: number;
  variants?: number;
  diffLayers?: number;
  variantSeed: number;
  seed: number;
  json?: boolean;
}

const int =
  (what: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer`);
    return n;
  };
const positive =
  (what: string) =>
  (v: string): number => {
    const n = int(what)(v);
    if (n === 0) throw new InvalidArgumentError(`${what} must be at least 1`);
    return n;
  };

/** Which options apply to which kind, so a stray one is an error, not silently ignored. */
const KIND_OPTIONS: Record<ModelKind, ReadonlyArray<keyof GenOptions>> = {
  bert: ['layers', 'hidden', 'heads', 'intermediate', 'vocab', 'maxPositions', 'pooler'],
  resnet50: ['widthMultiplier', 'blocks', 'imageSize', 'classes'],
  mlp: ['layers', 'width'],
};
const ALL_MODEL_OPTIONS = [...new Set(Object.values(KIND_OPTIONS).flat())];

function buildSpec(kind: ModelKind, o: GenOptions): ModelSpec {
  for (const k of ALL_MODEL_OPTIONS) {
    if (o[k] !== undefined && !KIND_OPTIONS[kind].includes(k)) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `option --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply to ${kind}`,
        { kind, option: k },
      );
    }
  }
  if (o.preset === 'big' && kind !== 'mlp')
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `preset big exists only for mlp`, { kind });
  const pick = <T extends object>(v: T): Partial<T> =>
    Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as Partial<T>;
  const seed = o.seed;
  switch (kind) {
    case 'bert':
      return bert({
        ...(o.preset === 'tiny' ? BERT_TINY : {}),
        ...pick({
          layers: o.layers,
          hidden: o.hidden,
          heads: o.heads,
          intermediate: o.intermediate,
          vocab: o.vocab,
          maxPositions: o.maxPositions,
          pooler: o.pooler,
        }),
        seed,
      });
    case 'resnet50':
      return resnet50({
        ...(o.preset === 'tiny' ? RESNET_TINY : {}),
        ...pick({ widthMultiplier: o.widthMultiplier, blocks: o.blocks, imageSize: o.imageSize, classes: o.classes }),
        seed,
      });
    case 'mlp':
      return mlp({
        ...(o.preset === 'tiny' ? MLP_TINY : o.preset === 'big' ? MLP_BIG : {}),
        ...pick({ layers: o.layers, width: o.width }),
        seed,
      });
  }
}

/** Registers `gen` on the tensorshare program. */
export function registerGen(program: Command): Command {
  return program
    .command('gen')
    .description(
      'write a deterministic synthetic ONNX model (BERT-base-, ResNet-50-shaped or MLP), optionally as fine-tuned variants',
    )
    .addArgument(new Argument('<kind>', 'model kind').choices(['bert', 'resnet50', 'mlp']))
    .requiredOption('--out <file>', 'output .onnx path (data files go beside it)')
    .addOption(
      new Option(
        '--preset <name>',
        'size preset (default full size; big = 3 x 16384^2 mlp, external data only)',
      ).choices(['tiny', 'full', 'big']),
    )
    .option('--layers <n>', 'bert encoder layers / mlp layers', positive('--layers'))
    .option('--hidden <n>', 'bert hidden size', positive('--hidden'))
    .option('--heads <n>', 'bert attention heads', positive('--heads'))
    .option('--intermediate <n>', 'bert FFN size', positive('--intermediate'))
    .option('--vocab <n>', 'bert vocabulary size', positive('--vocab'))
    .option('--max-positions <n>', 'bert position embeddings', positive('--max-positions'))
    .option('--pooler', 'bert: add the pooler and a pooler_output output')
    .option('--width <n>', 'mlp width', positive('--width'))
    .option('--width-multiplier <x>', 'resnet50 channel width multiplier', (v: string) => {
      const x = Number(v);
      if (!(x > 0)) throw new InvalidArgumentError('--width-multiplier must be > 0');
      return x;
    })
    .option('--blocks <list>', 'resnet50 blocks per stage, e.g. 3,4,6,3', (v: string) =>
      v.split(',').map((s) => positive('--blocks')(s.trim())),
    )
    .option('--image-size <n>', 'resnet50 input height/width', positive('--image-size'))
    .option('--classes <n>', 'resnet50 classes', positive('--classes'))
    .addOption(new Option('--format <format>', 'weight storage').choices(OUTPUT_FORMATS).default('embedded'))
    .option(
      '--alignment <bytes>',
      'tensor alignment in external-single data files (default 64)',
      positive('--alignment'),
    )
    .option(
      '--variants <m>',
      'write M fine-tuned variants <out>-ft<i>.onnx instead of the base model',
      positive('--variants'),
    )
    .option(
      '--diff-layers <k>',
      'with --variants: how many trailing layers differ (default 1)',
      positive('--diff-layers'),
    )
    .option('--variant-seed <s>', 'with --variants: seed of the variant family', int('--variant-seed'), 0)
    .option('--seed <s>', 'weight seed', int('--seed'), 0)
    .option('--json', 'print a JSON summary (files, bytes, tensor count, sha256)')
    .action(
      action(async function (this: Command, kind: ModelKind, o: GenOptions) {
        if (o.diffLayers !== undefined && o.variants === undefined) {
          throw new TensorshareError('ERR_INVALID_ARGUMENT', '--diff-layers needs --variants', {});
        }
        const base = buildSpec(kind, o);
        const specs =
          o.variants === undefined
            ? [base]
            : fineTuned(base, { variants: o.variants, diffLayers: o.diffLayers ?? 1, seed: o.variantSeed });
        const started = performance.now();
        const results: WriteResult[] = [];
        for (const s of specs) {
          const out = s.variant ? variantPath(o.out, s.variant.index) : o.out;
          results.push(
            await writeModel(s, out, {
              format: o.format,
              sha256: o.json === true,
              ...(o.alignment ? { alignment: o.alignment } : {}),
            }),
          );
        }
        const seconds = (performance.now() - started) / 1000;
        const write = this.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
        if (o.json) {
          write(
            `${JSON.stringify(
              {
                kind,
                format: o.format,
                config: base.config,
                seed: base.seed,
                ...(o.variants === undefined
                  ? {}
                  : { variants: o.variants, diffLayers: o.diffLayers ?? 1, variantSeed: o.variantSeed }),
                params: results[0]!.params,
                seconds: Number(seconds.toFixed(3)),
                models: results.map((r) => ({
                  model: r.model,
                  tensorCount: r.tensorCount,
                  weightBytes: r.weightBytes,
                  totalBytes: r.totalBytes,
                  files: r.files,
                })),
              },
              null,
              2,
            )}\n`,
          );
        } else {
          const total = results.reduce((n, r) => n + r.totalBytes, 0);
          const files = results.reduce((n, r) => n + r.files.length, 0);
          const lines = results.map((r) => `  ${r.model} (${r.tensorCount} tensors, ${formatBytes(r.totalBytes)})`);
          write(
            `wrote ${results.length} ${kind} model${results.length > 1 ? 's' : ''} (${(results[0]!.params / 1e6).toFixed(1)}M params, ${o.format}): ${files} files, ${formatBytes(total)} in ${seconds.toFixed(1)} s\n${lines.join('\n')}\n`,
          );
        }
      }),
    );
}
