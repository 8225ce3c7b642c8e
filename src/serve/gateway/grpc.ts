// gRPC endpoints: inference.GRPCInferenceService from
// proto/kserve/grpc_predict_v2.proto (KServe v2 RPCs plus Triton's model
// repository RPCs). Errors carry the protocol's status code and the same
// message the HTTP gateway sends; overload errors add `retry-after` metadata.

import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { TensorshareError } from '../../errors.js';
import type { ModelMetadata } from '../../tensor/index.js';
import { boundedInferenceService, decodeGrpcInfer, grpcFromResponse, paramsFromGrpc } from '../protocol/grpc-codec.js';
import { scanModelInfer } from '../protocol/grpc-scan.js';
import type { GRPCInferenceServiceHandlers } from '../protocol/generated/inference/GRPCInferenceService.js';
import type { DecodeOffload } from './offload.js';
import { UNKNOWN_FUNCTION } from './metrics.js';
import { describeError, lookupModel, recordInfer, serveInfer, type GatewayContext } from './pipeline.js';
import type { ServerInfo } from './http.js';

export interface GrpcServerOptions {
  ctx: GatewayContext;
  server: ServerInfo;
  protoDir: string;
  /** Largest request message accepted, in bytes. */
  maxBodyBytes: number;
  /** Messages from this size on are decoded by `offload`. */
  offloadBytes: number;
  offload: DecodeOffload;
  /** A call's message must have arrived within this after its metadata (then DEADLINE_EXCEEDED). */
  requestTimeoutMs: number;
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

export function buildGrpcServer(opts: GrpcServerOptions): grpc.Server {
  const { ctx, server } = opts;
  // ModelInfer's handler receives the message bytes: they are checked against the limits before protobuf builds anything.
  const { service, decodeModelInfer } = boundedInferenceService(opts.protoDir);

  const fail = <Res>(callback: grpc.sendUnaryData<Res>, e: unknown, where: Record<string, unknown>): void => {
    const st = describeError(ctx, e, { ...where, protocol: 'grpc' });
    const metadata = new grpc.Metadata();
    if (st.retryAfterSeconds !== undefined) metadata.set('retry-after', String(st.retryAfterSeconds));
    callback({ code: st.grpc, details: st.message, metadata }, null);
  };

  /** Wraps an async handler: its result answers the call, its error maps to a status. */
  const unary =
    <Req, Res>(name: string, fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): Unary<Req, Res> =>
    (call, callback) => {
      fn(call.request, call).then(
        (res) => callback(null, res),
        (e: unknown) => fail(callback, e, { rpc: name }),
      );
    };

  const str = (s: unknown): string | undefined => (typeof s === 'string' && s !== '' ? s : undefined);
  const requireName = (s: unknown, field: string): string => {
    const v = str(s);
    if (v === undefined) throw new TensorshareError('ERR_INVALID_ARGUMENT', `'${field}' must name a model`);
    return v;
  };
  const tensorMeta = (m: ModelMetadata) => ({
    name: m.name,
    versions: m.versions,
    platform: m.platform,
    inputs: m.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
    outputs: m.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
  });

  const handlers: GRPCInferenceServiceHandlers = {
    ServerLive: unary('ServerLive', async () => ({ live: true })),
    ServerReady: unary('ServerReady', async () => ({ ready: Boolean(await ctx.backend.serverReady()) })),
    ServerMetadata: unary('ServerMetadata', async () => ({
      name: server.name,
      version: server.version,
      extensions: server.extensions,
    })),
    ModelMetadata: unary('ModelMetadata', async (req) =>
      tensorMeta(await lookupModel(ctx.backend, requireName(req.name, 'name'), str(req.version))),
    ),
    ModelReady: unary('ModelReady', async (req) => {
      const name = requireName(req.name, 'name');
      await lookupModel(ctx.backend, name, str(req.version));
      return { ready: Boolean(await ctx.backend.modelReady(name, str(req.version))) };
    }),
    ModelInfer: unary('ModelInfer', async (req, call) => {
      const receivedAt = performance.now();
      const message = req as unknown as Buffer;
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort(new TensorshareError('ERR_UNAVAILABLE', 'client cancelled the call')));
      let target: { model: string; version: string | undefined };
      try {
        target = scanModelInfer(message, ctx.limits, { shallow: true });
      } catch (e) {
        recordInfer(ctx, UNKNOWN_FUNCTION, { protocol: 'grpc', receivedAt, model: '' }, e);
        throw e;
      }
      return serveInfer(
        ctx,
        {
          model: target.model,
          version: target.version,
          protocol: 'grpc',
          receivedAt,
          signal: abort.signal,
          bytes: message.length,
        },
        async (meta) => {
          // Big messages decode in a worker: protobuf-decoding megabytes must not hold the event loop.
          const { request, raw } =
            message.length >= opts.offloadBytes
              ? await opts.offload.grpc(message, meta)
              : decodeGrpcInfer(message, decodeModelInfer, meta, ctx.limits);
          return { request, extra: raw };
        },
        (r, res, outputs, raw) => grpcFromResponse(r, res, outputs, raw, ctx.limits.maxJsonResponseBytes),
      );
    }),
    RepositoryIndex: unary('RepositoryIndex', async (req) => {
      let models = await ctx.backend.listModels();
      if (req.ready) models = models.filter((m) => m.state === 'READY');
      return {
        models: models.map((m) => ({ name: m.name, version: m.version ?? '', state: m.state, reason: m.reason ?? '' })),
      };
    }),
    RepositoryModelLoad: unary('RepositoryModelLoad', async (req) => {
      const name = requireName(req.model_name, 'model_name');
      await ctx.backend.load(name, paramsFromGrpc(req.parameters, 'load'));
      return {};
    }),
    RepositoryModelUnload: unary('RepositoryModelUnload', async (req) => {
      const name = requireName(req.model_name, 'model_name');
      await ctx.backend.unload(name, paramsFromGrpc(req.parameters, 'unload'));
      return {};
    }),
  };

  const s = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxBodyBytes,
    'grpc.max_send_message_length': -1,
    interceptors: [messageDeadline(opts.requestTimeoutMs)],
  });
  s.addService(service, handlers);
  return s;
}

/**
 * A call whose request message has not arrived `ms` after its metadata ends
 * with DEADLINE_EXCEEDED: a client trickling a large message cannot hold a
 * stream (and the memory of what it sent) open forever.
 */
function messageDeadline(ms: number): grpc.ServerInterceptor {
  return (_method, call) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = () => clearTimeout(timer);
    const intercepted: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        timer = setTimeout(() => {
          intercepted.sendStatus({
            code: grpc.status.DEADLINE_EXCEEDED,
            details: `request message not received within ${ms} ms`,
            metadata: new grpc.Metadata(),
          });
        }, ms);
        next({
          onReceiveMessage: (message, nextMessage) => {
            stop();
            nextMessage(message);
          },
          onCancel: stop,
        });
      },
      sendStatus: (status, next) => {
        stop();
        next(status);
      },
    });
    return intercepted;
  };
}

/** Binds and resolves with the port actually bound (0 picks a free one). */
export function bindGrpcServer(s: grpc.Server, host: string, port: number): Promise<number> {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new Promise((resolve, reject) => {
    s.bindAsync(`${h}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
}

/** Graceful shutdown, forced after `graceMs`. */
export function shutdownGrpcServer(s: grpc.Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.forceShutdown();
      resolve();
    }, graceMs);
    s.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
