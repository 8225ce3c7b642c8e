// A connection to the daemon: one Attach stream (the daemon ties this
// client's leases to it), unary calls, and reconnection. When the stream
// breaks -- the daemon restarted or crashed -- the client retries with
// backoff and re-sends the leases it still holds, so the new daemon knows
// which files live sessions map. Sessions keep running meanwhile: their
// weights are mmapped files the daemon never deletes while leased.
//
// The connection never keeps the process alive by itself: the HTTP/2
// session under the Attach stream is unref'd, and only calls in flight hold
// a reference. A script that opens a model and finishes exits normally;
// its socket closes and the daemon releases its leases.
import { randomBytes } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import { TensorshareError } from '../errors.js';
import { checkManifest, type Manifest, type OpenMode, type VariantManifest } from '../store/manifest.js';
import { noTracer, type Tracer } from '../trace.js';
import { fromServiceError } from '../daemon/grpc-status.js';
import { daemonProto } from '../daemon/proto.js';
import type * as P from '../daemon/proto.js';
import { clientSettings, type ClientSettings } from './settings.js';

export interface DaemonClientOptions extends Partial<ClientSettings> {
  /** Shown in the daemon's Stats and logs. */
  name?: string;
  trace?: Tracer;
  /** Called for conditions worth a warning (leases the daemon could not restore). */
  onWarning?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface ClientLease {
  leaseId: string;
  /** Resolved `[public/]name:version`. */
  model: string;
  mode: OpenMode;
  graphPath: string;
  tensorsDir: string;
  manifest: Manifest;
  variant?: VariantManifest;
  wasResident: boolean;
  waitMs: number;
}

/** Stats as the daemon always sends them (the wire type allows a missing totals message). */
export type DaemonStats = Omit<P.StatsResponse, 'totals'> & { totals: P.Totals };

type Stub = P.DaemonStub;
/** One unary call on the typed stub, with the metadata and options the client adds. */
type UnaryCall<Res> = (
  md: grpc.Metadata,
  options: grpc.CallOptions,
  cb: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

const MAX_BACKOFF_MS = 1000;

// The generated client has a `close` method of its own (the Close RPC).
const closeChannel = (stub: grpc.Client) => grpc.Client.prototype.close.call(stub);

/** Unrefs the HTTP/2 session carrying a call (grpc-js keeps it referenced while any call is active). */
function unrefTransport(call: object): boolean {
  const seen = new Set<object>();
  const queue: [object, number][] = [[call, 0]];
  let visited = 0;
  while (queue.length && visited < 20_000) {
    const [o, depth] = queue.shift()!;
    if (seen.has(o) || depth > 12) continue;
    seen.add(o);
    visited++;
    if (o.constructor?.name === 'ClientHttp2Session' && typeof (o as { unref?: unknown }).unref === 'function') {
      (o as { unref(): void }).unref();
      return true;
    }
    for (const k of Object.keys(o)) {
      let v: unknown;
      try {
        v = (o as Record<string, unknown>)[k];
      } catch {
        continue;
      }
      if (v && typeof v === 'object') queue.push([v, depth + 1]);
    }
  }
  return false;
}

export class DaemonClient {
  readonly settings: ClientSettings;
  readonly clientId = randomBytes(16).toString('hex');
  readonly name: string;
  // Made at the first call (loading the daemon's gRPC definitions costs tens of ms): a process that only opens
  // models on a device executor (its own socket) never pays for it.
  private stubNow: Stub | undefined;
  private readonly trace: Tracer;
  private readonly onWarning: (m: string) => void;
  private readonly leases = new Map<string, ClientLease>();
  private call: grpc.ClientDuplexStream<P.ClientEvent, P.DaemonEvent> | undefined;
  private attachmentId: string | undefined;
  private daemonIdValue: string | undefined;
  private waiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private backoffMs = 50;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private inFlight = 0;
  private keepAlive: NodeJS.Timeout | undefined;
  private lastError: Error | undefined;
  private attaches = 0;

  constructor(options: DaemonClientOptions = {}) {
    this.settings = clientSettings(options, options.env);
    this.name = options.name ?? `${process.argv[1] ? process.argv[1].split('/').pop() : 'node'}[${process.pid}]`;
    this.trace = options.trace ?? noTracer;
    this.onWarning = options.onWarning ?? ((m) => process.emitWarning(m, { code: 'TENSORSHARE_LEASE' }));
  }

  private get stub(): Stub {
    if (!this.stubNow) {
      this.stubNow = this.newStub();
      // A client closed before its first call stays closed: its calls fail as on a closed channel.
      if (this.closed) closeChannel(this.stubNow);
    }
    return this.stubNow;
  }

  get tracer(): Tracer {
    return this.trace;
  }

  /** The daemon this client is attached to (changes when the daemon restarts). */
  get daemonId(): string | undefined {
    return this.daemonIdValue;
  }

  get attached(): boolean {
    return this.attachmentId !== undefined;
  }

  /** How many times an Attach stream was established (>1 after reconnects). */
  get attachCount(): number {
    return this.attaches;
  }

  heldLeases(): ClientLease[] {
    return [...this.leases.values()];
  }

  private newStub(): Stub {
    const { Client } = daemonProto();
    return new Client(`unix:${this.settings.socket}`, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': MAX_BACKOFF_MS,
      'grpc.max_send_message_length': 16 * 1024 * 1024,
    });
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.settings.token) md.set('authorization', `Bearer ${this.settings.token}`);
    return md;
  }

  /** Keeps the event loop alive while a call is in flight (the transport itself is unref'd). */
  private hold(): void {
    if (this.inFlight++ === 0) this.keepAlive = setInterval(() => {}, 1 << 30);
  }

  private unhold(): void {
    if (--this.inFlight === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }

  private startAttach(): void {
    if (this.call || this.closed) return;
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
    const call = this.stub.attach(this.metadata());
    this.call = call;
    let ended = false;
    const onEnd = (e?: Error) => {
      if (ended) return;
      ended = true;
      if (this.call === call) this.call = undefined;
      this.attachmentId = undefined;
      if (e) this.lastError = e;
      if (e && (e as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED) {
        const err = fromServiceError(e as grpc.ServiceError);
        for (const w of this.waiters) w.reject(err);
        this.waiters.clear();
      }
      if (!this.closed && (this.leases.size > 0 || this.waiters.size > 0)) this.scheduleReconnect();
    };
    call.on('data', (ev: P.DaemonEvent) => {
      if (ev.event !== 'attached' || !ev.attached) return;
      const a = ev.attached;
      this.attachmentId = a.attachmentId;
      this.daemonIdValue = a.daemonId;
      this.backoffMs = 50;
      this.attaches++;
      for (const r of a.rejectedLeases) {
        // The daemon cannot vouch for these files any more; the session still works from its mappings.
        this.leases.delete(r.leaseId);
        this.onWarning(`tensorshare: the daemon could not restore lease ${r.leaseId}: ${r.reason}`);
      }
      unrefTransport(call);
      for (const w of this.waiters) w.resolve();
      this.waiters.clear();
    });
    call.on('error', (e) => onEnd(e));
    call.on('end', () => onEnd());
    call.on('close', () => onEnd());
    const claims: P.LeaseClaim[] = [...this.leases.values()].map((l) => ({
      leaseId: l.leaseId,
      model: l.model,
      mode: l.mode,
      graphSha256: l.graphPath.slice(l.graphPath.lastIndexOf('/') + 1, -'.onnx'.length),
    }));
    call.write({ hello: { pid: process.pid, clientId: this.clientId, clientName: this.name, leases: claims } });
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    // Capped after the jitter too: a daemon that comes back is found within MAX_BACKOFF_MS.
    const delay = Math.min(MAX_BACKOFF_MS, this.backoffMs * (0.75 + Math.random() * 0.5));
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      // A fresh channel: the old one may sit in its own backoff.
      if (this.stubNow) closeChannel(this.stubNow);
      this.stubNow = undefined;
      this.startAttach();
    }, delay);
    this.reconnectTimer.unref();
  }

  /** Resolves once attached; fails with ERR_UNAVAILABLE after timeoutMs. */
  ready(timeoutMs = this.settings.connectTimeoutMs): Promise<void> {
    if (this.closed) return Promise.reject(new TensorshareError('ERR_UNAVAILABLE', 'daemon client is closed'));
    if (this.attachmentId) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        const why = this.lastError
          ? `: ${(this.lastError as grpc.ServiceError).details || this.lastError.message}`
          : '';
        reject(
          new TensorshareError(
            'ERR_UNAVAILABLE',
            `tensorshare daemon not reachable at ${this.settings.socket} within ${timeoutMs} ms${why}`,
            { socket: this.settings.socket },
          ),
        );
      }, timeoutMs);
      this.waiters.add(w);
      if (!this.call) this.startAttach();
    });
  }

  private unary<Res>(call: UnaryCall<Res>, deadlineMs?: number): Promise<Res> {
    this.hold();
    return new Promise<Res>((resolve, reject) => {
      const opts: grpc.CallOptions = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
      call(this.metadata(), opts, (e, r) => (e ? reject(fromServiceError(e)) : resolve(r!)));
    }).finally(() => this.unhold());
  }

  /**
   * `ownWindow`: this caller brackets its fast-run session creations with
   * creation windows itself, or creates none (store/originals.ts); otherwise
   * the daemon holds one for the lease while it lives.
   */
  async open(model: string, options: { mode?: OpenMode; ownWindow?: boolean } = {}): Promise<ClientLease> {
    const mode = options.mode ?? this.settings.mode ?? '';
    return this.trace.span(
      'open-rpc',
      `open-${model}-${randomBytes(4).toString('hex')}`,
      async () => {
        for (let attempt = 0; ; attempt++) {
          await this.ready();
          try {
            const req = { attachmentId: this.attachmentId!, model, mode, ownWindow: options.ownWindow === true };
            const res = await this.unary<P.OpenResponse>((md, o, cb) => this.stub.open(req, md, o, cb));
            const l = res.lease;
            if (!l)
              throw new TensorshareError('ERR_INTERNAL', `the daemon answered Open of '${model}' without a lease`);
            const lease: ClientLease = {
              leaseId: l.leaseId,
              model: l.model,
              mode: l.mode as OpenMode,
              graphPath: l.graphPath,
              tensorsDir: l.tensorsDir,
              manifest: checkManifest(JSON.parse(l.manifestJson) as Manifest, `lease ${l.leaseId}`),
              variant: l.variantJson ? (JSON.parse(l.variantJson) as VariantManifest) : undefined,
              wasResident: l.wasResident,
              waitMs: l.waitMs,
            };
            this.leases.set(lease.leaseId, lease);
            return lease;
          } catch (e) {
            // The daemon restarted between attach and open: attach again and retry once.
            const code = (e as TensorshareError).code;
            if (attempt === 0 && (code === 'ERR_UNAVAILABLE' || code === 'ERR_PRECONDITION')) {
              if (code === 'ERR_PRECONDITION') this.attachmentId = undefined;
              continue;
            }
            throw e;
          }
        }
      },
      { model, mode },
    );
  }

  /** Ends a lease. Safe to call while the daemon is down: the next daemon learns it from the missing claim. */
  async close(leaseId: string): Promise<void> {
    if (!this.leases.delete(leaseId)) return;
    if (!this.attachmentId) return;
    await this.trace
      .span('close-rpc', `close-${leaseId}`, () =>
        this.unary<object>((md, o, cb) => this.stub.Close({ leaseId }, md, o, cb), 10_000),
      )
      .catch((e: TensorshareError) => {
        if (e.code !== 'ERR_MODEL_NOT_FOUND' && e.code !== 'ERR_UNAVAILABLE') throw e;
      });
  }

  async import(
    path: string,
    name: string,
    options: { version?: string; defaultMode?: OpenMode } = {},
  ): Promise<P.ImportResponse> {
    await this.ready();
    const req = { path, name, version: options.version ?? '', defaultMode: options.defaultMode ?? '' };
    return this.unary((md, o, cb) => this.stub.import(req, md, o, cb));
  }

  /** Sends a model's bytes (the daemon need not be able to read the client's files). */
  async upload(
    bytes: Uint8Array,
    name: string,
    options: { version?: string; defaultMode?: OpenMode; sha256?: string } = {},
  ): Promise<P.ImportResponse> {
    await this.ready();
    this.hold();
    try {
      return await new Promise<P.ImportResponse>((resolve, reject) => {
        const call = this.stub.upload(this.metadata(), (e, r) => (e ? reject(fromServiceError(e)) : resolve(r!)));
        call.on('error', () => {});
        const write = async () => {
          call.write({
            header: {
              name,
              version: options.version ?? '',
              defaultMode: options.defaultMode ?? '',
              size: bytes.byteLength,
              sha256: options.sha256 ?? '',
            },
          });
          const CHUNK = 1 << 20;
          for (let o = 0; o < bytes.byteLength; o += CHUNK) {
            const chunk = Buffer.from(bytes.buffer, bytes.byteOffset + o, Math.min(CHUNK, bytes.byteLength - o));
            if (!call.write({ chunk })) await new Promise((r) => call.once('drain', r));
          }
          call.end();
        };
        write().catch(reject);
      });
    } finally {
      this.unhold();
    }
  }

  async list(): Promise<P.ModelInfo[]> {
    await this.ready();
    return (await this.unary<P.ListResponse>((md, o, cb) => this.stub.list({}, md, o, cb), 30_000)).models;
  }

  async stats(options: { includeTensors?: boolean } = {}): Promise<DaemonStats> {
    await this.ready();
    const s = await this.unary<P.StatsResponse>(
      (md, o, cb) => this.stub.stats({ includeTensors: options.includeTensors ?? false }, md, o, cb),
      30_000,
    );
    if (!s.totals) throw new TensorshareError('ERR_INTERNAL', 'the daemon answered Stats without totals');
    return { ...s, totals: s.totals };
  }

  async evict(model: string): Promise<P.EvictResponse> {
    await this.ready();
    return this.unary((md, o, cb) => this.stub.evict({ model }, md, o, cb));
  }

  async pin(model: string, mode: OpenMode | '' = ''): Promise<P.PinResponse> {
    await this.ready();
    return this.unary((md, o, cb) => this.stub.pin({ model, mode }, md, o, cb));
  }

  async unpin(model: string, mode: OpenMode | '' = ''): Promise<P.PinResponse> {
    await this.ready();
    return this.unary((md, o, cb) => this.stub.unpin({ model, mode }, md, o, cb));
  }

  /** Closes every lease and the connection. Sessions opened through it should be released first. */
  async disconnect(): Promise<void> {
    if (this.closed) return;
    for (const id of [...this.leases.keys()]) await this.close(id).catch(() => {});
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const w of this.waiters) w.reject(new TensorshareError('ERR_UNAVAILABLE', 'daemon client closed'));
    this.waiters.clear();
    this.call?.end();
    this.call = undefined;
    this.attachmentId = undefined;
    if (this.stubNow) closeChannel(this.stubNow);
  }
}
