// Body of the build process started by fast-run-process.ts: one build, one answer.
import { isTensorshareError } from '../errors.js';
import { buildFastRun } from './fast-run.js';
import { layout } from './layout.js';
import type { BuildAnswer, BuildRequest } from './fast-run-process.js';

process.once('message', (req: BuildRequest) => {
  buildFastRun(layout(req.repository), layout(req.store), req.manifest).then(
    (r): BuildAnswer => ({ ok: true, variant: r.variant, built: r.built }),
    (e: unknown): BuildAnswer => ({
      ok: false,
      error: isTensorshareError(e) ? { code: e.code, message: e.message, details: e.details } : { message: (e as Error)?.message ?? String(e) },
    }),
  ).then((a) => process.send!(a, undefined, {}, () => process.disconnect()));
});
