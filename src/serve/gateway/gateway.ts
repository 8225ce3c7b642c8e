// Starts the KServe v2 gateway: HTTP (fastify) and gRPC (grpc-js) listeners
// in front of one InferenceBackend, sharing one metrics registry.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { packageRoot, protoDir as defaultProtoDir } from '../../paths.js';
import type { InferenceBackend } from '../protocol/backend.js';
import { DECODE_LIMITS, type DecodeLimits } from '../protocol/limits.js';
import { bindGrpcServer, buildGrpcServer, shutdownGrpcServer } from './grpc.js';
import { buildHttpApp, type ServerInfo } from './http.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { largeRequestCollector } from './collector.js';
import { createDecodeOffload } from './offload.js';
import type { GatewayContext } from './pipeline.js';
import type { BufferPool } from '../../shm/index.js';

export const GATEWAY_DEFAULTS = {
  /** Loopback unless the caller asks for more. */
  host: '127.0.0.1',
  httpPort: 8000,
  grpcPort: 8001,
  maxBodyBytes: 64 * 1024 * 1024,
  /** Bodies from this size on (and every compressed one) are decoded in a worker thread. */
  offloadBytes: 1024 * 1024,
  /** A request's headers and body must have arrived within this. */
  requestTimeoutMs: 60_000,
  retryAfterSeconds: 1,
  serverName: 'tensorshare',
  extensions: ['binary_tensor_data', 'model_repository'],
} as const;

export interface GatewayOptions {
  backend: InferenceBackend;
  /** Default 127.0.0.1; pass '0.0.0.0' (or '::') to listen on every interface. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  httpPort?: number;
  /** Default 8001; 0 picks a free port; false: no gRPC listener. */
  grpcPort?: number | false;
  /** Largest HTTP body / gRPC message accepted (default 64 MiB). */
  maxBodyBytes?: number;
  /** Bounds on what one request may decode to and encode (protocol/limits.ts; defaults DECODE_LIMITS). */
  limits?: Partial<DecodeLimits>;
  /** Bodies of at least this many bytes, and compressed ones, are decoded off the event loop (default 1 MiB). */
  offloadBytes?: number;
  /** Worker threads decoding large bodies at once (default 2), each with `decodeHeapMb` of heap (default 512). */
  decodeWorkers?: number;
  decodeHeapMb?: number;
  /** An HTTP request must be received whole (headers and body), a gRPC message must arrive, within this (default 60 s): 408 / DEADLINE_EXCEEDED. */
  requestTimeoutMs?: number;
  /** Retry-After for overload errors naming no delay (default 1 s). */
  retryAfterSeconds?: number;
  /** Metrics registry to record on and serve (default: a fresh private one). */
  metrics?: GatewayMetrics;
  /** Default: a pino logger at level 'warn' on stderr. */
  logger?: Logger;
  /** Server metadata; version defaults to package.json's. */
  serverName?: string;
  serverVersion?: string;
  /** Where grpc_predict_v2.proto lives (default: the package's proto/). */
  protoDir?: string;
  /** The pool instances read large JSON text into (see RuntimeOptions.readBuffers): responses give their buffers back to it. */
  readBuffers?: BufferPool;
}

export interface RunningGateway {
  host: string;
  httpPort: number;
  /** e.g. http://127.0.0.1:8000 */
  httpUrl: string;
  /** undefined when gRPC is off. */
  grpcPort: number | undefined;
  /** host:port for grpc clients. */
  grpcAddress: string | undefined;
  metrics: GatewayMetrics;
  /** Request bodies being decoded in worker threads now. */
  decoding(): number;
  http: FastifyInstance;
  grpc: grpc.Server | undefined;
  close(): Promise<void>;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const host = opts.host ?? GATEWAY_DEFAULTS.host;
  const maxBodyBytes = opts.maxBodyBytes ?? GATEWAY_DEFAULTS.maxBodyBytes;
  const logger = opts.logger ?? pino({ level: 'warn', name: 'tensorshare-gateway' }, pino.destination(2));
  const metrics = opts.metrics ?? createGatewayMetrics();
  const limits: DecodeLimits = { ...DECODE_LIMITS, ...opts.limits };
  const protoDir = opts.protoDir ?? defaultProtoDir;
  const ctx: GatewayContext = {
    backend: opts.backend,
    metrics,
    logger,
    retryAfterSeconds: opts.retryAfterSeconds ?? GATEWAY_DEFAULTS.retryAfterSeconds,
    limits,
    collector: largeRequestCollector(),
    readBuffers: opts.readBuffers,
  };
  const offload = createDecodeOffload({ limits, protoDir, maxWorkers: opts.decodeWorkers, heapMb: opts.decodeHeapMb });
  const bounds = {
    maxBodyBytes,
    offloadBytes: opts.offloadBytes ?? GATEWAY_DEFAULTS.offloadBytes,
    requestTimeoutMs: opts.requestTimeoutMs ?? GATEWAY_DEFAULTS.requestTimeoutMs,
    offload,
  };
  const server: ServerInfo = {
    name: opts.serverName ?? GATEWAY_DEFAULTS.serverName,
    version: opts.serverVersion ?? packageVersion(),
    extensions: [...GATEWAY_DEFAULTS.extensions],
  };

  const http = await buildHttpApp({ ctx, server, ...bounds });
  // Closing: fastify's close() reaps the keep-alive connections idle at that
  // moment; a response finished later says `connection: close`, so its
  // connection ends too instead of idling out the keep-alive timeout (72 s).
  let closing = false;
  http.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  await http.listen({ host, port: opts.httpPort ?? GATEWAY_DEFAULTS.httpPort });
  const addr = http.server.address();
  const httpPort = typeof addr === 'object' && addr ? addr.port : 0;

  let grpcServer: grpc.Server | undefined;
  let grpcPort: number | undefined;
  const wantGrpc = opts.grpcPort ?? GATEWAY_DEFAULTS.grpcPort;
  if (wantGrpc !== false) {
    grpcServer = buildGrpcServer({ ctx, server, protoDir, ...bounds });
    try {
      grpcPort = await bindGrpcServer(grpcServer, host, wantGrpc);
    } catch (e) {
      await http.close();
      grpcServer.forceShutdown();
      await offload.close();
      ctx.collector?.close();
      throw e;
    }
  }

  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    httpPort,
    httpUrl: `http://${hostForUrl}:${httpPort}`,
    grpcPort,
    grpcAddress: grpcPort === undefined ? undefined : `${hostForUrl}:${grpcPort}`,
    metrics,
    decoding: () => offload.running(),
    http,
    grpc: grpcServer,
    async close() {
      closing = true;
      await Promise.all([http.close(), grpcServer ? shutdownGrpcServer(grpcServer) : Promise.resolve()]);
      await offload.close();
      ctx.collector?.close();
    },
  };
}
