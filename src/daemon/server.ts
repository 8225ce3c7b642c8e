// gRPC over a Unix socket: authentication, validation, error mapping, and the
// socket itself. The socket is bound inside a private (0700) folder, given
// its mode (and group), and only then renamed into place, so it is never
// reachable with wider permissions than configured. This process accepts the
// connections itself and hands them to grpc-js (a connection injector), so
// each connection's peer credentials (SO_PEERCRED) are known: a client's pid
// is the kernel's, never the one it reports.
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { TensorshareError } from '../errors.js';
import { toServiceError } from './grpc-status.js';
import { ensureSafeDir } from '../store/layout.js';
import { uniqueTensors } from '../store/manifest.js';
import type { DaemonStats, Imported, ListedModel, Manager, Opened, Reattached } from './manager.js';
import { displayName } from './tenants.js';
import { daemonProto } from './proto.js';
import type * as P from './proto.js';
import type { DaemonConfig } from './settings.js';
import { isReferenced } from './residency.js';
import { authenticate, bearerToken, type Caller } from './tenants.js';
import { peerCredentials, type PeerCredentials } from './peer-credentials.js';
import {
  checkDecoded,
  checkHello,
  checkId,
  checkImport,
  checkMode,
  checkModel,
  checkOpen,
  checkUploadHeader,
  MALFORMED,
} from './validate.js';

export interface RunningServer {
  socket: string;
  close(): Promise<void>;
}

// ---- wire messages: the manager's domain results as daemon.proto messages ----

function attachedMessage(r: Reattached, daemonId: string): P.Attached {
  return { attachmentId: r.attachment.id, daemonId, restoredLeases: r.restored, rejectedLeases: r.rejected };
}

function leaseMessage(o: Opened): P.Lease {
  return {
    leaseId: o.lease.id,
    model: o.lease.model,
    mode: o.lease.mode,
    graphPath: o.unit.graphPath,
    tensorsDir: o.tensorsDir,
    manifestJson: JSON.stringify(o.manifest),
    variantJson: o.variant ? JSON.stringify(o.variant) : '',
    wasResident: o.wasResident,
    waitMs: o.waitMs,
  };
}

function importMessage({ ns, result: res }: Imported): P.ImportResponse {
  const m = res.manifest;
  return {
    model: displayName(ns, m.name, m.version),
    digest: m.digest,
    outcome: res.outcome,
    tensorsAdded: res.tensorsAdded,
    bytesAdded: res.bytesAdded,
    ms: res.ms,
    sourceSha256: m.source.sha256 ?? '',
  };
}

function modelInfo(l: ListedModel): P.ModelInfo {
  const m = l.manifest;
  const tensors = uniqueTensors(m.tensors);
  return {
    model: l.model,
    digest: m.digest,
    bytes: m.graph.bytes + tensors.reduce((a, t) => a + t.bytes, 0),
    tensors: tensors.length,
    defaultMode: m.defaultMode,
    residentModes: l.residentModes,
    pinnedModes: l.pinnedModes,
    leases: l.leases,
    fastRunBuilt: l.fastRunBuilt,
    sourceSha256: m.source.sha256 ?? '',
  };
}

function statsMessage(s: DaemonStats): P.StatsResponse {
  return {
    totals: {
      budgetBytes: s.budget,
      usedBytes: s.used,
      freeBytes: Math.max(0, s.budget - s.used),
      logicalBytes: s.logical,
      leasedLogicalBytes: s.leasedLogical,
      referencedBytes: s.referenced,
      policy: s.policy,
      leases: s.leases,
      clients: s.clients,
      ...s.counters,
      daemonId: s.daemonId,
      uptimeS: s.uptimeS,
    },
    models: s.units.map(({ unit: u, name, exclusiveBytes }) => ({
      model: name,
      mode: u.mode,
      resident: u.resident,
      bytes: u.bytes,
      exclusiveBytes,
      references: u.leases + (u.pinned ? 1 : 0),
      pinned: u.pinned,
      opens: u.opens,
      hits: u.hits,
      lastUseMs: u.lastUse,
      loadedAtMs: u.loadedAt,
      materializeMs: u.costMs,
      priority: u.priority,
    })),
    tensors: s.files.map(({ file: f, users }) => ({
      sha256: f.sha256,
      bytes: f.bytes,
      models: users.length,
      references: users.filter(isReferenced).length,
      hits: f.hits,
      lastUseMs: f.lastUse,
      kind: f.kind,
    })),
    leases: s.leaseList.map(({ lease: l, attachmentId }) => ({
      leaseId: l.id,
      model: l.model,
      mode: l.mode,
      attachmentId,
      pid: l.pid,
      clientName: l.clientName,
      openedAtMs: l.openedAt,
    })),
  };
}

/** Requests that fail to decode become a marked object, rejected as INVALID_ARGUMENT instead of INTERNAL. */
function tolerant(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(def).map(([k, m]) => [
      k,
      {
        ...m,
        requestDeserialize: (b: Buffer) => {
          try {
            return m.requestDeserialize(b);
          } catch (e) {
            return { [MALFORMED]: (e as Error).message };
          }
        },
      },
    ]),
  );
}

async function refuseIfLive(socket: string): Promise<void> {
  try {
    await fs.lstat(socket);
  } catch {
    return;
  }
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new TensorshareError('ERR_UNAVAILABLE', `another daemon is listening on ${socket}`);
  await fs.rm(socket, { force: true });
}

export async function serve(manager: Manager, config: DaemonConfig, log: Logger): Promise<RunningServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
  });

  const auth = (md: grpc.Metadata): Caller => {
    const value = md.get('authorization')[0];
    const caller = authenticate(config.tenants, bearerToken(typeof value === 'string' ? value : value?.toString()));
    if (!caller)
      throw new TensorshareError(
        'ERR_UNAUTHENTICATED',
        'missing or invalid token (metadata authorization: Bearer <token>)',
      );
    return caller;
  };

  const peers = new Map<string, PeerCredentials>();
  let connections = 0;
  const peerOf = (call: { getPeer(): string }): PeerCredentials => {
    const p = peers.get(call.getPeer());
    if (!p) throw new TensorshareError('ERR_UNAUTHENTICATED', 'the connection carries no peer credentials');
    return p;
  };

  const toStatus = (e: unknown, method: string): Partial<grpc.StatusObject> => {
    if (e instanceof TensorshareError) {
      if (e.code === 'ERR_INTERNAL' || e.code === 'ERR_STORE' || e.code === 'ERR_CORRUPT_TENSOR')
        log.error({ err: e, method }, 'request failed');
      else log.debug({ code: e.code, method, msg: e.message }, 'request refused');
      return toServiceError(e);
    }
    log.error({ err: e, method }, 'request failed');
    return { code: grpc.status.INTERNAL, details: `internal error: ${(e as Error)?.message ?? String(e)}` };
  };

  function unary<Req, Res>(method: string, fn: (caller: Caller, req: Req) => Promise<Res> | Res) {
    return (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
      Promise.resolve()
        .then(() => {
          const caller = auth(call.metadata);
          checkDecoded(call.request);
          return fn(caller, call.request);
        })
        .then(
          (res) => cb(null, res),
          (e) => cb(toStatus(e, method) as grpc.ServiceError),
        );
    };
  }

  const handlers: grpc.UntypedServiceImplementation = {
    attach(call: grpc.ServerDuplexStream<P.ClientEvent, P.DaemonEvent>) {
      let caller: Caller;
      try {
        caller = auth(call.metadata);
      } catch (e) {
        call.emit('error', toStatus(e, 'Attach'));
        return;
      }
      let attachmentId: string | undefined;
      let failed = false;
      const end = () => {
        if (attachmentId) manager.detach(attachmentId);
        attachmentId = undefined;
      };
      call.on('data', (ev: P.ClientEvent) => {
        if (failed) return;
        try {
          checkDecoded(ev);
          if (attachmentId) throw new TensorshareError('ERR_INVALID_ARGUMENT', 'Attach takes one hello per stream');
          const hello = checkHello(ev.event === 'hello' ? ev.hello : undefined);
          const peer = peerOf(call);
          // Lease liveness follows the connecting process. A reported pid can differ honestly
          // (a client in another pid namespace) or dishonestly (to keep leases alive): either way it is not used.
          if (hello.pid !== peer.pid)
            log.debug(
              { reported: hello.pid, pid: peer.pid, uid: peer.uid, client: hello.clientName },
              "client reported another pid than its connection's",
            );
          const reattached = manager.attach(caller, { ...hello, pid: peer.pid });
          attachmentId = reattached.attachment.id;
          call.write({ attached: attachedMessage(reattached, manager.daemonId) });
        } catch (e) {
          failed = true;
          end();
          call.emit('error', toStatus(e, 'Attach'));
        }
      });
      call.on('end', () => {
        end();
        if (!failed) call.end();
      });
      call.on('cancelled', end);
      call.on('error', end);
      call.on('close', end);
    },
    open: unary<P.OpenRequest, P.OpenResponse>('Open', async (c, req) => {
      const r = checkOpen(req);
      return { lease: leaseMessage(await manager.open(c, r.attachmentId, r.model, r.mode, r.ownWindow)) };
    }),
    close: unary<P.CloseRequest, object>('Close', (c, req) => {
      manager.close(c, checkId(req.leaseId, 'lease_id'));
      return {};
    }),
    import: unary<P.ImportRequest, P.ImportResponse>('Import', async (c, req) =>
      importMessage(await manager.importPath(c, checkImport(req))),
    ),
    upload(
      call: grpc.ServerReadableStream<P.UploadRequest, P.ImportResponse>,
      cb: grpc.sendUnaryData<P.ImportResponse>,
    ) {
      (async () => {
        const caller = auth(call.metadata);
        const it = call[Symbol.asyncIterator]() as AsyncIterator<P.UploadRequest>;
        const first = await it.next();
        if (first.done) throw new TensorshareError('ERR_INVALID_ARGUMENT', 'Upload sent nothing');
        checkDecoded(first.value);
        const header = checkUploadHeader(first.value.part === 'header' ? first.value.header : undefined);
        async function* chunks(): AsyncGenerator<Buffer> {
          for (;;) {
            const n = await it.next();
            if (n.done) return;
            checkDecoded(n.value);
            if (n.value.part !== 'chunk' || !n.value.chunk)
              throw new TensorshareError('ERR_INVALID_ARGUMENT', 'after its header, an Upload carries only chunks');
            yield n.value.chunk;
          }
        }
        return importMessage(await manager.upload(caller, header, chunks()));
      })().then(
        (res) => cb(null, res),
        (e) => cb(toStatus(e, 'Upload') as grpc.ServiceError),
      );
    },
    list: unary<object, P.ListResponse>('List', async (c) => ({ models: (await manager.list(c)).map(modelInfo) })),
    stats: unary<P.StatsRequest, P.StatsResponse>('Stats', (c, req) =>
      statsMessage(manager.stats(c, req.includeTensors === true)),
    ),
    evict: unary<P.EvictRequest, P.EvictResponse>('Evict', (c, req) => manager.evict(c, checkModel(req.model))),
    pin: unary<P.PinRequest, P.PinResponse>('Pin', (c, req) =>
      manager.pin(c, checkModel(req.model), checkMode(req.mode)),
    ),
    unpin: unary<P.PinRequest, P.PinResponse>('Unpin', (c, req) =>
      manager.unpin(c, checkModel(req.model), checkMode(req.mode)),
    ),
  };
  server.addService(tolerant(daemonProto().service), handlers);

  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = net.createServer((conn) => {
    let cred: PeerCredentials;
    try {
      cred = peerCredentials(conn);
    } catch (e) {
      log.error({ err: e }, 'connection refused: its peer credentials cannot be read');
      conn.destroy();
      return;
    }
    // grpc-js reports a connection's remoteAddress as each of its calls' getPeer(); a
    // Unix socket has none, so it becomes the key of this connection's credentials.
    const id = `unix-peer-${++connections}`;
    Object.defineProperty(conn, 'remoteAddress', { value: id });
    peers.set(id, cred);
    conn.once('close', () => peers.delete(id));
    injector.injectConnection(conn);
  });

  const socket = config.socket;
  // Whoever can write the socket's folder can put a fake daemon in its place.
  await ensureSafeDir(path.dirname(socket));
  await refuseIfLive(socket);
  const privateDir = await fs.mkdtemp(path.join(path.dirname(socket), '.sock-'));
  const tmpSocket = path.join(privateDir, 's');
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(tmpSocket, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    await fs.chmod(tmpSocket, config.socketMode);
    if (config.socketGroup !== undefined) await fs.chown(tmpSocket, -1, config.socketGroup);
    await fs.rename(tmpSocket, socket);
  } catch (e) {
    listener.close();
    throw e;
  } finally {
    await fs.rm(privateDir, { recursive: true, force: true });
  }
  const ino = (await fs.stat(socket)).ino;
  return {
    socket,
    async close() {
      listener.close();
      injector.destroy();
      server.forceShutdown();
      // Remove the socket only if it is still ours.
      const st = await fs.stat(socket).catch(() => undefined);
      if (st?.ino === ino) await fs.rm(socket, { force: true });
    },
  };
}
