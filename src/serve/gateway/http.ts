// HTTP/REST endpoints of the Open Inference Protocol (KServe v2), with the
// binary tensor data and model repository extensions, and GET /metrics.
// Bodies are read as raw bytes (any content type) up to `maxBodyBytes`, then
// decoded by the protocol module; every error answers {"error": message}.

import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TensorshareError } from '../../errors.js';
import type { Parameters } from '../../tensor/index.js';
import type { ModelIndexEntry } from '../protocol/backend.js';
import { encodeHttpInferResponse, headerLengthOf, HEADER_LENGTH_HEADER, metadataJson, parseHttpInferBody } from '../protocol/http-codec.js';
import { badRequest, tooLarge } from '../protocol/status.js';
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
}

type ModelParams = { model: string; version?: string };

export async function buildHttpApp(opts: HttpAppOptions): Promise<FastifyInstance> {
  const { ctx, server, maxBodyBytes } = opts;
  // Fastify's own request logging stays off: failures are logged through ctx.logger.
  const app = Fastify({ logger: false, bodyLimit: maxBodyBytes, routerOptions: { maxParamLength: 512 } });

  // Every body is raw bytes: JSON, binary-extension and SageMaker bodies are
  // all decoded by the protocol module, so bad JSON gets our 400 message.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const sendError = (reply: FastifyReply, e: unknown, where: Record<string, unknown>): FastifyReply => {
    const st = describeError(ctx, e, where);
    if (st.retryAfterSeconds !== undefined) reply.header('retry-after', String(st.retryAfterSeconds));
    return reply.code(st.http).type('application/json').send({ error: st.message });
  };

  const bodyOf = (request: FastifyRequest): Buffer => {
    const b = request.body;
    const buf = Buffer.isBuffer(b) ? b : Buffer.alloc(0);
    const enc = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (enc === 'identity' || enc === '') return buf;
    try {
      if (enc === 'gzip') return zlib.gunzipSync(buf, { maxOutputLength: maxBodyBytes });
      if (enc === 'deflate') return zlib.inflateSync(buf, { maxOutputLength: maxBodyBytes });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw tooLarge(`decompressed request body is larger than the ${maxBodyBytes}-byte limit`, maxBodyBytes);
      }
      throw badRequest(`request body is not valid ${enc} data`);
    }
    throw badRequest(`unsupported Content-Encoding '${enc}' (gzip, deflate or identity)`);
  };

  // Small JSON bodies of the repository endpoints (optional).
  const jsonBodyOf = (request: FastifyRequest): Record<string, unknown> => {
    const buf = bodyOf(request);
    if (buf.length === 0) return {};
    let doc: unknown;
    try {
      doc = JSON.parse(buf.toString('utf8'));
    } catch (e) {
      throw badRequest(`request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw badRequest('request body must be a JSON object');
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
      if (!reply.raw.writableFinished) abort.abort(new TensorshareError('ERR_UNAVAILABLE', 'client closed the connection'));
    });
    try {
      const out = await serveInfer(
        ctx,
        { model, version, protocol: 'http', receivedAt, signal: abort.signal },
        () => {
          const body = bodyOf(request);
          const headerLength = headerLengthOf(request.headers[HEADER_LENGTH_HEADER], request.headers['content-type'], body.length);
          const parsed = parseHttpInferBody(body, headerLength);
          return { wire: parsed.wire, extra: parsed.binaryOutput };
        },
        (req, res, outputs, binaryOutput) => encodeHttpInferResponse(req, res, outputs, binaryOutput),
      );
      reply.code(200).header('content-type', out.contentType);
      if (out.headerLength !== undefined) reply.header(HEADER_LENGTH_HEADER, String(out.headerLength));
      return reply.send(out.body);
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

  app.post('/v2/repository/models/:model/load', async (request: FastifyRequest<{ Params: { model: string } }>, reply) => {
    const { model } = request.params;
    try {
      await ctx.backend.load(model, repoParams(jsonBodyOf(request)));
      return reply.code(200).send();
    } catch (e) {
      return sendError(reply, e, { model, route: 'load' });
    }
  });

  app.post('/v2/repository/models/:model/unload', async (request: FastifyRequest<{ Params: { model: string } }>, reply) => {
    const { model } = request.params;
    try {
      await ctx.backend.unload(model, repoParams(jsonBodyOf(request)));
      return reply.code(200).send();
    } catch (e) {
      return sendError(reply, e, { model, route: 'unload' });
    }
  });

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
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body is larger than the ${maxBodyBytes}-byte limit`;
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
      const asError = status === 413 ? tooLarge(message, maxBodyBytes) : new TensorshareError(status < 500 ? 'ERR_INVALID_ARGUMENT' : 'ERR_INTERNAL', message);
      recordInfer(ctx, fn, { protocol: 'http', receivedAt: performance.now(), model: params.model }, asError);
    }
    return reply.code(status).type('application/json').send({ error: message });
  });

  return app;
}

function indexJson(m: ModelIndexEntry): Record<string, string> {
  const out: Record<string, string> = { name: m.name };
  if (m.version !== undefined) out.version = m.version;
  out.state = m.state;
  if (m.reason) out.reason = m.reason;
  return out;
}
