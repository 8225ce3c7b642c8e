// Residency: "make this model resident in this mode and tell me which files
// to map", with a hold on those files until release(). Two implementations:
// through the daemon (a lease; the daemon is then the only writer of the
// store, so its budget, single flight and store queue hold), and local for
// daemonless use (copies what is missing; nothing evicts, so release() only
// ends the call's interest). Both follow the one sequence in
// src/store/resident.ts; neither loads ONNX Runtime (variant builds run in the
// daemon or in a build process).
import { resolvePaths, type Paths } from '../config.js';
import { graphPath, layout } from '../store/layout.js';
import type { Manifest, OpenMode, VariantManifest } from '../store/manifest.js';
import { resolveModel } from '../store/repository.js';
import { localSteps, makeResident } from '../store/resident.js';
import { withOriginals } from '../store/originals.js';
import type { DaemonClient } from './daemon-client.js';

export interface ResidentModel {
  /** Exact `[public/]name:version`. */
  ref: string;
  manifest: Manifest;
  /** The mode the files serve: fast-run falls back to fast-open when the model has no loadable variant. */
  mode: OpenMode;
  /** With fast-run asked: the variant (also when it is unavailable; its reason says why). */
  variant?: VariantManifest;
  graphPath: string;
  tensorsDir: string;
  /** False when this call made it resident (or waited for it to become so). */
  wasResident: boolean;
  waitMs: number;
  /** Ends this hold on the files (a daemon lease). Idempotent. */
  release(): Promise<void>;
  /**
   * Runs a session creation over these files. Fast-run: inside a creation
   * window, with the originals ONNX Runtime reads only while creating whole
   * (restored if the daemon owning the store cut them: store/originals.ts).
   * Absent: call it as it is.
   */
  creating?<T>(create: () => Promise<T>): Promise<T>;
}

export interface Residency {
  /** `mode` undefined: the model's default mode. */
  ensureResident(ref: string, mode?: OpenMode): Promise<ResidentModel>;
}

/** Without a daemon: this process copies into the store itself. */
export function localResidency(paths: Partial<Paths> = {}): Residency {
  const { repository, store: storeRoot } = resolvePaths(paths);
  const repo = layout(repository);
  const store = layout(storeRoot);
  return {
    async ensureResident(ref, modeIn) {
      const t0 = performance.now();
      const manifest = await resolveModel(repo, ref);
      const asked = modeIn ?? manifest.defaultMode;
      // fast-run copies only the variant's files when the repository has the variant (a build
      // needs the model resident first; nothing evicts without a daemon, so it then stays).
      const r = await makeResident(asked, localSteps(repo, store, manifest));
      const graph = r.mode === 'fast-run' ? r.variant!.graph.sha256 : manifest.graph.sha256;
      return {
        ref: `${manifest.name}:${manifest.version}`,
        manifest,
        mode: r.mode,
        variant: r.variant,
        graphPath: graphPath(store, graph),
        tensorsDir: store.tensors,
        wasResident: !r.held,
        waitMs: performance.now() - t0,
        release: async () => {},
        creating: async (create) => {
          const v = r.variant;
          if (r.mode !== 'fast-run' || !v) return create();
          return (await withOriginals(repo, store, v, create)).value;
        },
      };
    },
  };
}

/** Through the daemon: an Open, and release() closes the lease. */
export function daemonResidency(client: DaemonClient): Residency {
  return {
    async ensureResident(ref, mode) {
      // Serve's gateway creates no session: its instances open creation windows themselves.
      const lease = await client.open(ref, { mode, ownWindow: true });
      let released = false;
      return {
        ref: lease.model,
        manifest: lease.manifest,
        mode: lease.mode,
        variant: lease.variant,
        graphPath: lease.graphPath,
        tensorsDir: lease.tensorsDir,
        wasResident: lease.wasResident,
        waitMs: lease.waitMs,
        async release() {
          if (released) return;
          released = true;
          await client.close(lease.leaseId);
        },
      };
    },
  };
}
