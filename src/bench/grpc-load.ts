// The gRPC side of load generation against a KServe v2 gateway: ModelInfer
// with the input as raw_input_contents (bytes, no per-element encoding),
// one client (one HTTP/2 connection) for every caller.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoDir } from '../paths.js';

export interface GrpcInferClient {
  /** One ModelInfer call; resolves when the whole answer has arrived. */
  infer(): Promise<void>;
  close(): void;
}

export interface RawInput {
  name: string;
  datatype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function grpcInferClient(address: string, model: string, inputs: RawInput[]): GrpcInferClient {
  const def = protoLoader.loadSync(path.join(protoDir, 'kserve', 'grpc_predict_v2.proto'), {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [protoDir],
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    inference: { GRPCInferenceService: new (a: string, c: grpc.ChannelCredentials, o?: object) => grpc.Client };
  };
  const client = new pkg.inference.GRPCInferenceService(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
    'grpc.max_send_message_length': 256 * 1024 * 1024,
  });
  const request = {
    modelName: model,
    inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })),
    rawInputContents: inputs.map((i) => Buffer.from(i.bytes.buffer, i.bytes.byteOffset, i.bytes.byteLength)),
  };
  const call = client as unknown as {
    modelInfer(r: object, cb: (e: grpc.ServiceError | null, v: unknown) => void): void;
  };
  return {
    infer: () => new Promise<void>((resolve, reject) => call.modelInfer(request, (e) => (e ? reject(e) : resolve()))),
    close: () => client.close(),
  };
}
