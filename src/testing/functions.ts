// Test helpers for the serving runtime: function folders written on the fly,
// a test handler with switches (sleep, crash, allocate), and collecting
// runtime events.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Runtime, RuntimeEvent } from '../serve/runtime.js';
import type { InferRequest } from '../tensor/index.js';

/** Writes a function folder; each file lands by rename, so a polling runtime never reads half a file. */
export async function writeFunction(
  functionsDir: string,
  name: string,
  config: object,
  handler?: string,
  configName = 'config.json',
): Promise<string> {
  const dir = path.join(functionsDir, name);
  await fs.mkdir(dir, { recursive: true });
  if (handler !== undefined) await writeAtomic(path.join(dir, 'handler.js'), handler);
  await writeAtomic(
    path.join(dir, configName),
    configName.endsWith('.json') ? JSON.stringify(config, null, 2) : String(config),
  );
  return dir;
}

export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

/**
 * A handler with no model: y = x * factor, plus the serving pid and a tag.
 * Request parameters switch behaviour: sleepMs (wait first), crash (exit the
 * process), allocateMb (allocate and keep that much memory), allocateLaterMb (the
 * same 50 ms after answering: memory that grows while no request runs).
 */
export function testHandler(opts: { factor?: number; tag?: string; useModel?: boolean } = {}): string {
  const factor = opts.factor ?? 2;
  return `
export const metadata = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }, { name: 'pid', datatype: 'INT32', shape: [1] }],
};
const hog = [];
export async function handle(request, ctx) {
  const p = request.parameters ?? {};
  if (p.crash) process.exit(3);
  if (p.sleepMs) await new Promise((r) => setTimeout(r, p.sleepMs));
  if (p.allocateMb) hog.push(Buffer.alloc(p.allocateMb * 1048576, 1));
  if (p.allocateLaterMb) setTimeout(() => hog.push(Buffer.alloc(p.allocateLaterMb * 1048576, 1)), 50);
  const x = request.inputs.find((t) => t.name === 'x').data;
  let y = x.map((v) => v * ${factor});
  ${opts.useModel ? "const out = await ctx.run({ x: { dtype: 'float32', shape: [1, x.length], data: Float32Array.from(x) } }); y = out.y.data;" : ''}
  return {
    outputs: [
      { name: 'y', datatype: 'FP32', shape: [y.length], data: y },
      { name: 'pid', datatype: 'INT32', shape: [1], data: Int32Array.of(process.pid) },
    ],
    parameters: { tag: ${JSON.stringify(opts.tag ?? 'v1')} },
  };
}
`;
}

export function request(x: number[], parameters: Record<string, string | number | boolean> = {}): InferRequest {
  return { inputs: [{ name: 'x', datatype: 'FP32', shape: [x.length], data: Float32Array.from(x) }], parameters };
}

export function recordEvents(rt: Runtime): RuntimeEvent[] {
  const events: RuntimeEvent[] = [];
  rt.subscribe((e) => events.push(e));
  return events;
}

export const pidOf = (r: { outputs: { name: string; data: unknown }[] }): number =>
  (r.outputs.find((o) => o.name === 'pid')!.data as Int32Array)[0]!;

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
