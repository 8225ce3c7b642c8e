// The transparent hook behind `node --import tensorshare/register app.js`:
// onnxruntime-node's InferenceSession.create(pathOrBytes, options) goes
// through the daemon. The model is identified by the SHA-256 of its bytes,
// imported once (under `auto-<file name>:<hash prefix>`), opened with a
// lease, and the session is created over the shared store files -- the
// returned object is the real InferenceSession that ORT made. Its release()
// also ends the lease. Anything the hook cannot handle goes to ORT unchanged:
// other execution providers, external-data options, or a daemon that is not
// there (one warning per process). With `executionProviders: ['cuda']` the
// returned session runs on the daemon's device executor (device-open.ts).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { storeSessionOptions, type SessionOptions } from '../store/ort-options.js';
import type { OpenMode } from '../store/manifest.js';
import { ORIGINAL_CREATE } from './create-session.js';
import { openOnDevice } from './device-open.js';
import { wantsDevice } from '../device/wants-device.js';
import type { ClientLease, DaemonClient } from './daemon-client.js';
import type { ClientSettings } from './settings.js';

type SessionClass = typeof InferenceSession;
type AnyCreate = ((...args: unknown[]) => Promise<InferenceSession>) & { [ORIGINAL_CREATE]?: AnyCreate };

export interface HookOptions {
  settings: ClientSettings;
  /** The process's daemon client (created on first use). */
  client: () => DaemonClient;
  warn?: (message: string, code: string) => void;
}

interface Parsed {
  source: { kind: 'path'; file: string } | { kind: 'bytes'; bytes: Uint8Array };
  options: SessionOptions;
}

/** The arguments forms of InferenceSession.create that the hook understands. */
export function parseCreateArgs(args: unknown[]): Parsed | undefined {
  const [a0, a1, a2, a3] = args;
  const obj = (v: unknown) => (typeof v === 'object' && v !== null ? (v as SessionOptions) : undefined);
  if (typeof a0 === 'string') return { source: { kind: 'path', file: a0 }, options: obj(a1) ?? {} };
  if (a0 instanceof Uint8Array) return { source: { kind: 'bytes', bytes: a0 }, options: obj(a1) ?? {} };
  if (a0 instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && a0 instanceof SharedArrayBuffer)) {
    const offset = typeof a1 === 'number' ? a1 : 0;
    const length = typeof a2 === 'number' ? a2 : a0.byteLength - offset;
    if (offset < 0 || length < 0 || offset + length > a0.byteLength) return undefined;
    return {
      source: { kind: 'bytes', bytes: new Uint8Array(a0, offset, length) },
      options: obj(a1) ?? obj(a2) ?? obj(a3) ?? {},
    };
  }
  return undefined;
}

/** Options under which sharing store files is right; anything else goes to ORT untouched. */
export function shareable(o: SessionOptions): boolean {
  const eps = o.executionProviders ?? [];
  const cpuOnly = eps.every((e) => (typeof e === 'string' ? e : e.name) === 'cpu');
  const extra = (o.extra ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const ownFolder = extra.session?.model_external_initializers_file_folder_path !== undefined;
  return cpuOnly && !ownFolder && o.externalData === undefined && o.optimizedModelFilePath === undefined;
}

/** `auto-<file name without .onnx>`, made a valid model name. */
export function autoName(file: string | undefined): string {
  const base = file ? path.basename(file).replace(/\.onnx$/i, '') : 'bytes';
  return `auto-${base.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100) || 'model'}`;
}

const hashCache = new Map<string, string>();
const RETRY_AFTER_MS = 10_000;

async function hashFile(file: string): Promise<string> {
  const st = await fs.promises.stat(file);
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const hit = hashCache.get(key);
  if (hit) return hit;
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  const sha = h.digest('hex');
  hashCache.set(key, sha);
  return sha;
}

export function installHook(cls: SessionClass, options: HookOptions): () => void {
  const current = cls.create as unknown as AnyCreate;
  if (current[ORIGINAL_CREATE]) return () => {}; // already hooked (two resolutions of one module)
  const original = current;
  const warned = new Set<string>();
  const warn = (message: string, code: string) => {
    if (warned.has(code)) return;
    warned.add(code);
    (options.warn ?? ((m, c) => process.emitWarning(m, { code: c })))(message, code);
  };
  const leases = new FinalizationRegistry<{ client: DaemonClient; leaseId: string }>(({ client, leaseId }) => {
    void client.close(leaseId).catch(() => {});
  });

  // After the daemon was found unreachable, creates go straight to ORT for a while.
  let unreachableUntil = 0;

  async function viaDaemon(p: Parsed): Promise<{ lease: ClientLease; client: DaemonClient } | undefined> {
    const { settings } = options;
    if (Date.now() < unreachableUntil) return undefined;
    if (!fs.existsSync(settings.socket)) {
      warn(
        `tensorshare: no daemon socket at ${settings.socket}; using plain onnxruntime (set TENSORSHARE_ENABLED=false to silence)`,
        'TENSORSHARE_NO_DAEMON',
      );
      return undefined;
    }
    const client = options.client();
    try {
      await client.ready(settings.connectTimeoutMs);
    } catch (e) {
      unreachableUntil = Date.now() + RETRY_AFTER_MS;
      warn(
        `tensorshare: daemon unreachable at ${settings.socket} (${(e as Error).message}); using plain onnxruntime`,
        'TENSORSHARE_NO_DAEMON',
      );
      return undefined;
    }
    const file = p.source.kind === 'path' ? path.resolve(p.source.file) : undefined;
    const sha =
      p.source.kind === 'path' ? await hashFile(file!) : createHash('sha256').update(p.source.bytes).digest('hex');
    const ref = `${autoName(file)}:${sha.slice(0, 16)}`;
    const mode: OpenMode | undefined = settings.mode;
    let lease: ClientLease;
    try {
      lease = await client.open(ref, { mode });
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_MODEL_NOT_FOUND') throw e;
      const [name, version] = ref.split(':') as [string, string];
      let imported = false;
      if (file) {
        // The daemon reads the file itself when allowed and able; otherwise send the bytes.
        imported = await client.import(file, name, { version }).then(
          () => true,
          (err: { code?: string }) => {
            if (err.code === 'ERR_PERMISSION_DENIED' || err.code === 'ERR_INVALID_ARGUMENT') return false;
            throw err;
          },
        );
      }
      if (!imported) {
        const bytes = p.source.kind === 'bytes' ? p.source.bytes : await fs.promises.readFile(file!);
        await client.upload(bytes, name, { version, sha256: sha });
      }
      lease = await client.open(ref, { mode });
    }
    if (lease.manifest.source.sha256 !== sha) {
      await client.close(lease.leaseId);
      throw new Error(`model ${ref} in the daemon has other content than this file`);
    }
    return { lease, client };
  }

  const hooked: AnyCreate = async function create(this: unknown, ...args: unknown[]) {
    const self = this ?? cls;
    const plain = () => original.apply(self, args);
    const p = parseCreateArgs(args);
    // executionProviders ['cuda']: the model runs on the daemon's executor of that GPU, one copy for every process.
    const onDevice = p && wantsDevice(p.options);
    // TENSORSHARE_EXECUTOR=cpu: CPU sessions run on the daemon's CPU executor, one session for every process.
    const onCpuExecutor = !onDevice && options.settings.executor === 'cpu';
    if (!p || (!onDevice && !onCpuExecutor && !shareable(p.options))) return plain();
    let got: Awaited<ReturnType<typeof viaDaemon>>;
    try {
      got = await viaDaemon(p);
    } catch (e) {
      warn(
        `tensorshare: could not share this model through the daemon (${(e as Error).message}); using plain onnxruntime`,
        `TENSORSHARE_${(e as { code?: string }).code ?? 'ERROR'}`,
      );
      return plain();
    }
    if (!got) return plain();
    const { lease, client } = got;
    let session: InferenceSession;
    try {
      session =
        onDevice || onCpuExecutor
          ? await openOnDevice(lease.model, {
              daemonSocket: options.settings.socket,
              token: options.settings.token,
              device: onDevice ? onDevice.device : 0,
              tier: onCpuExecutor ? 'cpu' : 'gpu',
            })
          : await client.tracer.span(
              'create-session',
              `create-${lease.leaseId}`,
              () => original.call(self, lease.graphPath, storeSessionOptions(lease.mode, lease.tensorsDir, p.options)),
              { model: lease.model },
            );
    } catch (e) {
      await client.close(lease.leaseId).catch(() => {});
      warn(
        `tensorshare: onnxruntime could not open the shared copy of ${lease.model} (${(e as Error).message}); using plain onnxruntime`,
        'TENSORSHARE_SESSION',
      );
      return plain();
    }
    const token = {};
    leases.register(session, { client, leaseId: lease.leaseId }, token);
    const release = session.release.bind(session);
    let ended = false;
    Object.defineProperty(session, 'release', {
      configurable: true,
      writable: true,
      value: async () => {
        try {
          await release();
        } finally {
          if (!ended) {
            ended = true;
            leases.unregister(token);
            await client.close(lease.leaseId).catch(() => {});
          }
        }
      },
    });
    return session;
  };
  hooked[ORIGINAL_CREATE] = original;
  (cls as unknown as { create: AnyCreate }).create = hooked;
  return () => {
    (cls as unknown as { create: AnyCreate }).create = original;
  };
}

/**
 * The onnxruntime-node module objects this process will use: resolved from
 * the app's entry script, the working directory and tensorshare itself.
 * ESM importers of onnxruntime-node get the same CommonJS module object, so
 * patching its InferenceSession covers both.
 */
export function onnxruntimeModules(entry = process.argv[1]): { InferenceSession: SessionClass }[] {
  const bases = [
    entry && path.resolve(entry),
    path.join(process.cwd(), 'index.js'),
    fileURLToPath(import.meta.url),
  ].filter(Boolean) as string[];
  const out = new Map<string, { InferenceSession: SessionClass }>();
  for (const b of bases) {
    try {
      const req = createRequire(b);
      const resolved = req.resolve('onnxruntime-node');
      if (!out.has(resolved)) out.set(resolved, req(resolved) as { InferenceSession: SessionClass });
    } catch {
      // not resolvable from there
    }
  }
  return [...out.values()];
}
