import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { TensorshareError } from '../../errors.js';
import { openSession } from '../../client/open-session.js';
import type { IoSpec, OpenMode } from '../../store/manifest.js';
import { action, emit } from '../output.js';
import { roots } from '../context.js';
import { makeTensorData } from '../../client/tensor-data.js';
import type { OrtFeed } from '../../tensor/index.js';
import { graphPath } from '../../store/layout.js';
import { defaultFill, describeFill, gatherBounds, type Fill } from '../input-fill.js';
import { readStoredGraph } from '../../store/stored-graph.js';

interface RunOpts {
  input: string[];
  shape: string[];
  mode?: OpenMode;
  json?: boolean;
  threads?: string;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run one inference on a stored model through a shared-weights session (smoke test)')
    .argument('<name[:version]>')
    .option(
      '-i, --input <name=value>',
      "an input: JSON array (nested = shape), @file.json ({shape, data} or nested array), or random|zeros|ones (needs a concrete shape). Not given: random, ids below their embedding's rows, masks ones, token type ids zeros",
      collect,
      [],
    )
    .option('-s, --shape <name=d0,d1,..>', 'shape for a generated input (fills dynamic dimensions)', collect, [])
    .option('--mode <mode>', "fast-open | fast-run (default: the model's)")
    .option('--threads <n>', 'intra-op threads')
    .option('--json', 'print JSON (full output data)')
    .action(
      action(async (ref: string, opts: RunOpts, cmd: Command) => {
        const r = roots(cmd);
        if (opts.mode && opts.mode !== 'fast-open' && opts.mode !== 'fast-run')
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--mode must be fast-open or fast-run, got '${opts.mode}'`,
          );
        const s = await openSession(ref, {
          repository: r.repository,
          store: r.store,
          mode: opts.mode,
          sessionOptions: opts.threads ? { intraOpNumThreads: Number(opts.threads) } : {},
        });
        try {
          const ort = (await import('onnxruntime-node')).default;
          const given = new Map(opts.input.map(splitKv('--input')));
          const shapes = new Map(opts.shape.map(splitKv('--shape')));
          for (const k of [...given.keys(), ...shapes.keys()])
            if (!s.manifest.inputs.some((i) => i.name === k))
              throw new TensorshareError(
                'ERR_INVALID_ARGUMENT',
                `model has no input '${k}'; inputs: ${s.manifest.inputs.map((i) => i.name).join(', ')}`,
              );
          const bounds = gatherBounds(
            await readStoredGraph(graphPath(r.repo, s.manifest.graph.sha256)),
            s.manifest.inputs,
          );
          // Inputs with a value or shape first: they fix the named dimensions
          // (batch, sequence) that the generated inputs then take.
          const dims = new Map<string, number>();
          const isSized = (i: IoSpec) => given.has(i.name) || shapes.has(i.name);
          const specs = [...s.manifest.inputs].sort((a, b) => Number(isSized(b)) - Number(isSized(a)));
          const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
          const generated: Record<string, string> = {};
          for (const spec of specs) {
            const { data: t, fill } = await inputTensor(
              spec,
              given.get(spec.name),
              shapes.get(spec.name),
              dims,
              bounds.get(spec.name),
            );
            if (fill) generated[spec.name] = `${describeFill(fill)} [${t.shape.join(',')}]`;
            spec.shape?.forEach((d, i) => {
              if (typeof d === 'string' && !dims.has(d)) dims.set(d, t.shape[i]!);
            });
            feeds[spec.name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape);
          }
          const t0 = performance.now();
          const out = await s.session.run(feeds);
          const runMs = performance.now() - t0;
          const outputs = Object.entries(out).map(([name, t]) => ({
            name,
            dtype: t.type,
            shape: t.dims,
            data: Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v)),
          }));
          emit(
            opts,
            {
              model: `${s.manifest.name}:${s.manifest.version}`,
              mode: s.mode,
              materializeMs: s.materializeMs,
              createMs: s.createMs,
              runMs,
              generated,
              outputs,
            },
            (v) =>
              [
                `${v.model} (${v.mode}): session ${v.createMs.toFixed(1)} ms${v.materializeMs > 1 ? ` + resident ${v.materializeMs.toFixed(1)} ms` : ''}, run ${v.runMs.toFixed(1)} ms`,
                ...Object.entries(v.generated).map(([name, how]) => `  input ${name}: ${how}`),
                ...v.outputs.map(
                  (o) =>
                    `  ${o.name} ${o.dtype}[${o.shape.join(',')}] = [${o.data
                      .slice(0, 8)
                      .map((x) => (typeof x === 'number' ? +x.toPrecision(5) : x))
                      .join(', ')}${o.data.length > 8 ? ', ...' : ''}]`,
                ),
              ].join('\n'),
          );
        } finally {
          await s.release();
        }
      }),
    );
}

function collect(v: string, acc: string[]): string[] {
  return [...acc, v];
}

function splitKv(flag: string) {
  return (kv: string): [string, string] => {
    const i = kv.indexOf('=');
    if (i <= 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', `${flag} expects name=value, got '${kv}'`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  };
}

/** An input's tensor, and how it was generated when no data was given. */
async function inputTensor(
  spec: IoSpec,
  value: string | undefined,
  shapeArg: string | undefined,
  dims: ReadonlyMap<string, number>,
  bound: { below: number; via: string } | undefined,
): Promise<{ data: OrtFeed; fill?: Fill }> {
  if (value === undefined || value === 'random' || value === 'zeros' || value === 'ones') {
    const shape = shapeArg
      ? shapeArg.split(',').map((d) => Number(d))
      : (spec.shape ?? []).map((d) => (typeof d === 'number' ? d : (d !== null && dims.get(d)) || 1)); // unbound dynamic dims default to 1
    if (shape.some((d) => !Number.isInteger(d) || d < 0))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `bad shape '${shapeArg}' for input '${spec.name}'`);
    // An explicit 'random' still stays within the graph's bound.
    const fill: Fill | undefined =
      value === undefined
        ? defaultFill(spec, bound)
        : value === 'random' && bound
          ? { kind: 'index', ...bound }
          : { kind: value };
    if (!fill) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `input '${spec.name}' (${spec.dtype}) needs a value: the graph gives no range for its integers; pass -i ${spec.name}=<JSON array>, @file.json, zeros or ones`,
        { input: spec.name },
      );
    }
    if (fill.kind !== 'index') return { data: makeTensorData(spec.dtype, shape, fill.kind), fill };
    // Uniform ids below the bound, from the same deterministic generator as 'random'.
    const unit = makeTensorData('float32', shape, 'random').data as Float32Array;
    return {
      data: makeTensorData(
        spec.dtype,
        shape,
        Array.from(unit, (u) => Math.min(fill.below - 1, Math.floor(u * fill.below))),
      ),
      fill,
    };
  }
  const v = value;
  const text = v.startsWith('@') ? await fs.readFile(v.slice(1), 'utf8') : v;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `input '${spec.name}': not JSON (${(e as Error).message})`);
  }
  const obj = parsed as { shape?: number[]; data?: unknown };
  if (!Array.isArray(parsed) && obj && Array.isArray(obj.data) && Array.isArray(obj.shape))
    return { data: makeTensorData(spec.dtype, obj.shape, obj.data.flat(Infinity) as number[]) };
  if (typeof parsed === 'number') return { data: makeTensorData(spec.dtype, [], [parsed]) };
  if (!Array.isArray(parsed))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `input '${spec.name}': expected a (nested) JSON array or {shape, data}`,
    );
  const shape: number[] = [];
  for (let a: unknown = parsed; Array.isArray(a); a = a[0]) shape.push(a.length);
  return { data: makeTensorData(spec.dtype, shape, (parsed as unknown[]).flat(Infinity) as number[]) };
}
