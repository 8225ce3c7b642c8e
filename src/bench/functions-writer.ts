// The functions suite's N function folders, written on a thread of its own:
// generating a thousand models leaves hundreds of MB of garbage, and collected
// in the benchmark's own heap it ran beside the server being measured (a
// profile of a first start found the benchmark process's marking using more
// CPU than the server's import thread). The thread's heap goes with it.
import path from 'node:path';
import fs from 'node:fs/promises';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fineTuned, mlp, writeModel } from '../gen/index.js';

const TAG = 'tensorshareFunctionsWriter';

interface Job {
  dir: string;
  functions: number;
  width: number;
}

/** Writes `fn-<i>/model.onnx` and its fast-open config for each variant; resolves to one model file's size. */
export function writeFunctionFolders(job: Job): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { ...job, [TAG]: true }, execArgv: [] });
    let bytes: number | undefined;
    w.once('message', (m: number) => {
      bytes = m;
    });
    w.once('error', reject);
    w.once('exit', (code) =>
      bytes === undefined ? reject(new Error(`functions writer exited (code ${code})`)) : resolve(bytes),
    );
  });
}

async function write({ dir, functions, width }: Job): Promise<number> {
  let modelBytes = 0;
  for (const spec of fineTuned(mlp({ layers: 3, width, seed: 0 }), { variants: functions, diffLayers: 1 })) {
    const fn = path.join(dir, `fn-${spec.variant!.index}`);
    await fs.mkdir(fn, { recursive: true });
    modelBytes = (await writeModel(spec, path.join(fn, 'model.onnx'))).files.reduce((a, f) => a + f.bytes, 0);
    // fast-open: for a model this small fast-run's prepacking is not worth a variant build per function.
    await fs.writeFile(path.join(fn, 'config.json'), JSON.stringify({ modelFile: 'model.onnx', mode: 'fast-open' }));
  }
  return modelBytes;
}

// Only on the thread writeFunctionFolders started (this module is imported elsewhere too).
if (!isMainThread && parentPort && (workerData as Record<string, unknown> | undefined)?.[TAG] === true)
  parentPort.postMessage(await write(workerData as Job));
