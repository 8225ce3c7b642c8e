// Sessions in worker threads (ort-session.ts) as the instance's GPU -> CPU
// fallback holds them: the session an open function gives (tensorshare's
// openSession over a real repository and store) runs in its own thread, so
// the caller's event loop keeps turning during a run, which a session on the
// calling thread blocks; the outputs are the calling thread's; an open that
// fails rejects with its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { openSession } from '../client/open-session.js';
import { importModel } from '../store/import.js';
import { writeSlowMatMul } from '../testing/device.js';
import { tempRoots } from '../testing/tmp.js';
import { openedInWorker } from './ort-session.js';

const N = 512;
const OPEN_SESSION = new URL('../client/open-session.js', import.meta.url).href;

/** The calling thread's event-loop turns while `run` is pending (a chain of immediates). */
async function turnsDuring<T>(run: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let pending = true;
  const turn = () => {
    if (!pending) return;
    turns++;
    setImmediate(turn);
  };
  setImmediate(turn);
  const result = await run();
  pending = false;
  return { result, turns };
}

test("openedInWorker: an open function's session runs off the calling thread, with the calling thread's outputs", async () => {
  const roots = await tempRoots('ts-ort-session');
  try {
    // About 2 G multiply-adds a run: long enough that a blocked event loop shows.
    const file = path.join(roots.dir, 'slow.onnx');
    await writeSlowMatMul(file, 1024, N, 8, 5);
    await importModel(roots.repository, file, { name: 'slow' });
    const open = { repository: roots.repository, store: roots.store, mode: 'fast-open' as const };
    const x = Float32Array.from({ length: N }, (_, i) => ((i % 7) - 3) / 7);

    const here = await openSession('slow', open);
    const inThread = await turnsDuring(() => here.session.run({ x: new ort.Tensor('float32', x, [1, N]) }));
    await here.release();

    const s = await openedInWorker({ module: OPEN_SESSION, export: 'openSession', args: ['slow', open] }, 'slow');
    try {
      const feed = { name: 'x', type: 'float32', dims: [1, N], bytes: new Uint8Array(x.slice().buffer) };
      const inWorker = await turnsDuring(() => s.run([feed], undefined, {}));
      // onnxruntime-node runs a session on the calling thread: the loop stands still for the run there.
      assert.ok(inThread.turns <= 3, `event-loop turns during a run on this thread: ${inThread.turns}`);
      assert.ok(inWorker.turns > 50, `event-loop turns during a run in the worker: ${inWorker.turns}`);
      const [y] = inWorker.result.outputs;
      assert.equal(y?.name, 'y');
      assert.deepEqual(y?.dims, [1, N]);
      assert.deepEqual(
        Array.from(new Float32Array(y!.bytes.buffer, y!.bytes.byteOffset, N)),
        Array.from(inThread.result.y!.data as Float32Array),
      );
    } finally {
      await s.release();
    }

    await assert.rejects(
      openedInWorker({ module: OPEN_SESSION, export: 'openSession', args: ['no-such-model', open] }, 'no-such-model'),
      (e: Error & { code?: string }) =>
        e.code !== undefined && e.code !== 'ERR_INTERNAL' && /no-such-model/.test(e.message),
    );
  } finally {
    await roots.cleanup();
  }
});
