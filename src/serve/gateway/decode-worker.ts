// Entry of a decode worker (offload.ts): decodes and validates one request
// body with the protocol's own functions and posts the typed request back,
// its tensor buffers transferred. Errors go back as code, message and details.

import { parentPort, workerData } from 'node:worker_threads';
import { isTensorshareError } from '../../errors.js';
import type { ModelInferDecoder } from '../protocol/grpc-codec.js';
import { decodeHttpInfer } from '../protocol/http-codec.js';
import type { DecodeLimits } from '../protocol/limits.js';
import { packRequest, type DecodeReply, type DecodeTask } from './offload.js';

const { limits, protoDir } = workerData as { limits: DecodeLimits; protoDir: string };
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

// gRPC's codec (protobufjs, the .proto) loads only when a gRPC message comes.
let grpcCodec:
  | Promise<{ decodeGrpcInfer: typeof import('../protocol/grpc-codec.js').decodeGrpcInfer; decode: ModelInferDecoder }>
  | undefined;
const loadGrpc = () =>
  (grpcCodec ??= import('../protocol/grpc-codec.js').then((m) => ({
    decodeGrpcInfer: m.decodeGrpcInfer,
    decode: m.boundedInferenceService(protoDir).decodeModelInfer,
  })));

parentPort!.on('message', async (task: DecodeTask) => {
  try {
    const grpc = task.kind === 'grpc' ? await loadGrpc() : undefined;
    const decoded =
      task.kind === 'http'
        ? (({ request, binaryOutput }) => ({ request, extra: binaryOutput }))(
            decodeHttpInfer(
              { ...task.input, body: asBuffer(task.input.body) },
              task.model,
              task.version,
              task.meta,
              limits,
            ),
          )
        : (({ request, raw }) => ({ request, extra: raw }))(
            grpc!.decodeGrpcInfer(asBuffer(task.message), grpc!.decode, task.meta, limits),
          );
    const { request, transfer } = packRequest(decoded.request);
    const reply: DecodeReply = { ok: true, request, extra: decoded.extra };
    parentPort!.postMessage(reply, transfer);
  } catch (e) {
    const reply: DecodeReply = isTensorshareError(e)
      ? { ok: false, code: e.code, message: e.message, details: e.details }
      : {
          ok: false,
          code: 'ERR_INTERNAL',
          message: 'internal error while decoding the request',
          details: { cause: e instanceof Error ? e.stack : String(e) },
        };
    parentPort!.postMessage(reply);
  }
});
