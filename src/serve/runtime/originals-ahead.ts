// A starting instance's cut fast-run originals, restored by serve itself
// while the instance process starts. The daemon that owns the store cuts a
// fast-run variant's originals a while after its last session creation
// (store/originals.ts, daemon/originals-keeper.ts); the next instance then
// restored them inside its own open (BERT-base: 324 MiB, +245 ms measured on
// a quiet machine). Started when the pool spawns the instance, the copy
// overlaps Node's start, the imports and ONNX Runtime's load instead.
//
// A window of serve's own keeps the cutter off the files from before the
// restore until the instance is ready or gone, by which time the instance
// has created its sessions inside windows of its own. The instance still
// restores whatever is missing when it opens (it may get there first, or
// serve may not write the store): both copy the repository's bytes to the
// same offsets, and serve walks the files from the last so that the two
// meet in the middle rather than copy the same files twice.
import path from 'node:path';
import { findFastRun } from '../../store/fast-run-key.js';
import { layout } from '../../store/layout.js';
import { cannotWrite, cutBytesOf, cutsDone, openWindow, restoreOriginals } from '../../store/originals.js';
import { resolveModel } from '../../store/repository.js';
import type { DeployedFunction } from '../functions/deploy.js';
import type { Logger } from './log.js';

export interface OriginalsAhead {
  /** Settles when the restore has finished (or found nothing to do); bytes copied back. */
  restored: Promise<number>;
  /** The instance is ready or gone: closes the window once the restore has finished. */
  done(): Promise<void>;
}

export function restoreAhead(
  o: { repository: string; store: string; log: Logger },
  d: Pick<DeployedFunction, 'name' | 'models'>,
  instance: string,
): OriginalsAhead {
  const repo = layout(path.resolve(o.repository));
  const store = layout(path.resolve(o.store));
  let close: (() => Promise<void>) | undefined;
  const restored = (async () => {
    let bytes = 0;
    for (const m of Object.values(d.models)) {
      // auto creates its fast-run session after the first answer: restored ahead, that creation copies nothing.
      if (m.mode !== 'fast-run' && m.mode !== 'auto') continue;
      const v = await findFastRun(repo, (await resolveModel(repo, m.ref)).digest);
      // Nothing cut now: the instance restores whatever a cut after this leaves (its own window).
      if (v?.status !== 'ok' || (await cutBytesOf(store, v)) === 0) continue;
      if (!close) {
        try {
          close = await openWindow(store);
        } catch (e) {
          if (cannotWrite(e)) return 0; // serve may not write this store: the instance restores
          throw e;
        }
        await cutsDone(store);
      }
      bytes += await restoreOriginals(repo, store, v, { fromLast: true });
    }
    return bytes;
  })().catch((e: Error) => {
    o.log.warn(
      { function: d.name, instance, error: e.message },
      'restoring fast-run originals ahead of an instance failed; the instance restores them itself',
    );
    return 0;
  });
  return {
    restored,
    async done() {
      const bytes = await restored;
      await close?.();
      close = undefined;
      if (bytes)
        o.log.debug({ function: d.name, instance, bytes }, 'restored fast-run originals ahead of the instance');
    },
  };
}
