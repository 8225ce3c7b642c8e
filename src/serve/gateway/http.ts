// HTTP/REST endpoints of the Open Inference Protocol (KServe v2), with the
// binary tensor data and model repository extensions, and GET /metrics.
// Bodies are read as raw bytes (any content type) up to `maxBodyBytes`, then
// decoded by the protocol module; every error answers {"error": message}.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TensorshareError } from '../../errors.js';
import type { Parameters } from '../../tensor/index.js';
import type { ModelIndexEntry, ValidatedInferRequest } from '../protocol/backend.js';
import {
  binaryOutputOf,
  decodeContentEncoding,
  decodeHttpInfer,
  encodeHttpInferResponse,
  HEADER_LENGTH_HEADER,
  metadataJson,
  type HttpInferInput,
} from '../protocol/http-codec.js';
import { scanJson } from '../protocol/json-scan.js';
import type { WithJsonTextAsk } from '../protocol/json-text.js';
import { shown, type DecodeLimits } from '../protocol/limits.js';
import { badRequest, tooLarge } from '../protocol/status.js';
import { readBody } from './body.js';
import type { DecodeOffload } from './offload.js';
import { describeError, lookupModel, recordInfer, serveInfer, type GatewayContext } from './pipeline.js';
import { UNKNOWN_FUNCTION } from './metrics.js';

export interface ServerInfo {
  name: string;
  version: string;
  extensions: string[];
}

export interface HttpAppOptions {
  ctx: GatewayContext;
  server: ServerInfo;
  maxBodyBytes: number;
  /** Bodies from this size on, and compressed ones, are decoded by `offload`. */
  offloadBytes: number;
  offload: DecodeOffload;
  /** Headers and body must have arrived within this (then 408). */
  requestTimeoutMs: number;
}

/** Longest model name or version in a URL; longer ones get 414 in the project's error shape. */
const MAX_PARAM_LENGTH = 512;

/**
 * Errors Node's HTTP parser raises before fastify sees a request (a request
 * not received within the timeout, oversized headers, malformed HTTP): the
 * same `{"error": ...}` body as every other error, then the connection closes.
 */
function clientErrorHandler(requestTimeoutMs: number) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, `request not received within ${requestTimeoutMs} ms (headers and body)`]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'request headers are larger than the server accepts']
          : [400, `malformed HTTP request${err.code ? ` (${err.code})` : ''}`];
    const body = JSON.stringify({ error: message });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

type ModelParams = { model: string; version?: string };

export async function buildHttpApp(opts: HttpAppOptions): Promise<FastifyInstance> {
  const { ctx, server, maxBodyBytes } = opts;
  // Fastify's own request logging stays off: failures are logged through ctx.logger.
  const app = Fastify({
    logger: false,
    bodyLimit: maxBodyBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Node enforces the request timeout on a timer of this period: check often enough that it holds.
    requestTimeout: opts.requestTimeoutMs,
    http: {
      requestTimeout: opts.requestTimeoutMs,
      headersTimeout: Math.min(opts.requestTimeoutMs, 60_000),
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(opts.requestTimeoutMs / 4))),
    },
    clientErrorHandler: clientErrorHandler(opts.requestTimeoutMs),
    // Routing errors (a malformed URL, a name past MAX_PARAM_LENGTH) answer like any other error.
    frameworkErrors: (err, request, reply) => {
      const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      const message =
        status === 414
          ? `a model name or version in the URL is longer than ${MAX_PARAM_LENGTH} characters`
          : `malformed URL ${shown(request.url, 80)}`;
      void (reply as FastifyReply).code(status).type('application/json').send({ error: message });
    },
  });

  // Every body is raw bytes: JSON, binary-extension and SageMaker bodies are
  // all decoded by the protocol module, so bad JSON gets our 400 message.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => readBody(payload, maxBodyBytes, done));

  const sendError = (reply: FastifyReply, e: unknown, where: Record<string, unknown>): FastifyReply => {
    const st = describeError(ctx, e, where);
    if (st.retryAfterSeconds !== undefined) reply.header('retry-after', String(st.retryAfterSeconds));
    return reply.code(st.http).type('application/json').send({ error: st.message });
  };

  const rawBody = (request: FastifyRequest): Buffer => (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
  const encodingOf = (request: FastifyRequest): string | undefined => {
    const e = request.headers['content-encoding'];
    return Array.isArray(e) ? e[0] : e;
  };

  // Small JSON bodies of the repository endpoints (optional).
  const jsonBodyOf = (request: FastifyRequest): Record<string, unknown> => {
    const buf = decodeContentEncoding(rawBody(request), encodingOf(request), maxBodyBytes);
    if (buf.length === 0) return {};
    scanJson(buf, buf.length, ctx.limits);
    let doc: unknown;
    try {
      doc = JSON.parse(buf.toString('utf8'));
    } catch (e) {
      throw badRequest(`request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw badRequest('request body must be a JSON object');
    return doc as Record<string, unknown>;
  };

  const repoParams = (doc: Record<string, unknown>): Parameters | undefined => {
    const p = doc.parameters;
    if (p === undefined) return undefined;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw badRequest("'parameters' must be an object");
    const out: Parameters = {};
    for (const [k, v] of Object.entries(p)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
      else throw badRequest(`parameter '${k}' must be a string, number or boolean`);
    }
    return out;
  };

  // --- health and metadata ---------------------------------------------------

  app.get('/v2/health/live', async (_req, reply) => reply.send({ live: true }));

  app.get('/v2/health/ready', async (_req, reply) => {
    try {
      const ready = await ctx.backend.serverReady();
      // 503: not ready yet or not now (the daemon is away), so retry later; load balancers read it so.
      return reply.code(ready ? 200 : 503).send({ ready });
    } catch (e) {
      return sendError(reply, e, { route: 'ready' });
    }
  });

  app.get('/v2', async (_req, reply) => reply.send(server));

  const modelMetadata = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { model, version } = request.params;
    try {
      return reply.send(metadataJson(await lookupModel(ctx.backend, model, version)));
    } catch (e) {
      return sendError(reply, e, { model, version });
    }
  };
  app.get('/v2/models/:model', modelMetadata);
  app.get('/v2/models/:model/versions/:version', modelMetadata);

  const modelReady = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { model, version } = request.params;
    try {
      await lookupModel(ctx.backend, model, version);
      const ready = await ctx.backend.modelReady(model, version);
      return reply.code(ready ? 200 : 400).send({ name: model, ready });
    } catch (e) {
      return sendError(reply, e, { model, version });
    }
  };
  app.get('/v2/models/:model/ready', modelReady);
  app.get('/v2/models/:model/versions/:version/ready', modelReady);

  // --- inference -------------------------------------------------------------

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const receivedAt = performance.now();
    const { model, version } = request.params;
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished)
        abort.abort(new TensorshareError('ERR_UNAVAILABLE', 'client closed the connection'));
    });
    try {
      const out = await serveInfer(
        ctx,
        { model, version, protocol: 'http', receivedAt, signal: abort.signal, bytes: rawBody(request).length },
        async (meta) => {
          const input: HttpInferInput = {
            body: rawBody(request),
            contentEncoding: encodingOf(request),
            headerLength: request.headers[HEADER_LENGTH_HEADER],
            contentType: request.headers['content-type'],
            maxBodyBytes,
          };
          const encoded = !['identity', ''].includes(
            String(input.contentEncoding ?? '')
              .trim()
              .toLowerCase(),
          );
          // Big or compressed bodies decode in a worker: parsing megabytes must not hold the event loop.
          const decoded =
            input.body.length >= opts.offloadBytes || encoded
              ? await opts.offload.http(input, model, version, meta)
              : decodeHttpInfer(input, model, version, meta, ctx.limits);
          const binaryOutput = binaryOutputOf(decoded.binaryOutput);
          return { request: askJsonText(decoded.request, binaryOutput, ctx.limits), extra: binaryOutput };
        },
        (req, res, outputs, binaryOutput) =>
          encodeHttpInferResponse(req, res, outputs, binaryOutput, ctx.limits.maxJsonResponseBytes),
      );
      // The socket has every byte once the response closes: pooled buffers among the parts may be reused then.
      const pool = ctx.readBuffers;
      if (pool)
        reply.raw.once('close', () => {
          for (const p of out.parts) pool.give(p);
        });
      reply.code(200).header('content-type', out.contentType);
      if (out.headerLength !== undefined) reply.header(HEADER_LENGTH_HEADER, String(out.headerLength));
      if (out.parts.length === 1) return reply.send(out.parts[0]);
      return reply.header('content-length', String(out.length)).send(Readable.from(out.parts));
    } catch (e) {
      return sendError(reply, e, { model, version });
    }
  };
  app.post('/v2/models/:model/infer', infer);
  app.post('/v2/models/:model/versions/:version/infer', infer);

  // --- model repository extension --------------------------------------------

  app.post('/v2/repository/index', async (request, reply) => {
    try {
      const doc = jsonBodyOf(request);
      if (doc.ready !== undefined && typeof doc.ready !== 'boolean') throw badRequest("'ready' must be a boolean");
      let models: ModelIndexEntry[] = await ctx.backend.listModels();
      if (doc.ready === true) models = models.filter((m) => m.state === 'READY');
      return reply.send(models.map(indexJson));
    } catch (e) {
      return sendError(reply, e, { route: 'repository/index' });
    }
  });

  app.post(
    '/v2/repository/models/:model/load',
    async (request: FastifyRequest<{ Params: { model: string } }>, reply) => {
      const { model } = request.params;
      try {
        await ctx.backend.load(model, repoParams(jsonBodyOf(request)));
        return reply.code(200).send();
      } catch (e) {
        return sendError(reply, e, { model, route: 'load' });
      }
    },
  );

  app.post(
    '/v2/repository/models/:model/unload',
    async (request: FastifyRequest<{ Params: { model: string } }>, reply) => {
      const { model } = request.params;
      try {
        await ctx.backend.unload(model, repoParams(jsonBodyOf(request)));
        return reply.code(200).send();
      } catch (e) {
        return sendError(reply, e, { model, route: 'unload' });
      }
    },
  );

  // --- metrics ---------------------------------------------------------------

  app.get('/metrics', async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(text);
  });

  // --- errors raised by fastify itself (body limit, media type, routing) ------

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `no endpoint ${request.method} ${request.url.split('?')[0]}` });
  });

  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    let message: string;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      message = `request body is larger than the ${maxBodyBytes}-byte limit`;
    else if (status < 500) message = err.message;
    else {
      ctx.logger.error({ err, url: request.url }, 'unhandled error in the HTTP gateway');
      message = 'internal error';
    }
    // Inference requests refused before their handler ran still count per function.
    const params = request.params as Partial<ModelParams> | undefined;
    if (request.method === 'POST' && request.url.split('?')[0]!.endsWith('/infer') && params?.model) {
      let fn = UNKNOWN_FUNCTION;
      try {
        if (await ctx.backend.modelMetadata(params.model, params.version)) fn = params.model;
      } catch {
        // keep the unknown label
      }
      const asError =
        status === 413
          ? tooLarge(message, maxBodyBytes)
          : new TensorshareError(status < 500 ? 'ERR_INVALID_ARGUMENT' : 'ERR_INTERNAL', message);
      recordInfer(ctx, fn, { protocol: 'http', receivedAt: performance.now(), model: params.model }, asError);
    }
    return reply.code(status).type('application/json').send({ error: message });
  });

  return app;
}

/** The request asking its instance to write the JSON text of the outputs that go back as JSON (see json-text.ts). */
function askJsonText(
  req: ValidatedInferRequest,
  binaryOutput: (name: string) => boolean,
  limits: DecodeLimits,
): WithJsonTextAsk<ValidatedInferRequest> {
  const outputs = req.outputs.map((o) => o.name).filter((n) => !binaryOutput(n));
  return outputs.length ? { ...req, jsonText: { outputs, maxBytes: limits.maxJsonResponseBytes } } : req;
}

function indexJson(m: ModelIndexEntry): Record<string, string> {
  const out: Record<string, string> = { name: m.name };
  if (m.version !== undefined) out.version = m.version;
  out.state = m.state;
  if (m.reason) out.reason = m.reason;
  return out;
}
