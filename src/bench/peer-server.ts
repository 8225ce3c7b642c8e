// The server a user writes who does not adopt tensorshare: one fastify
// process, one onnxruntime-node session, KServe-v2-shaped JSON in and out.
// Written plainly on purpose (fastify's JSON parser, Array.from, its
// serializer): the request-path benchmark's baseline. Run as a script:
//   node peer-server.js <model.onnx> <model-name> <intra-op threads>
// prints "listening <url>" once ready.
import Fastify from 'fastify';
import ort from 'onnxruntime-node';

const ORT_TYPE: Record<string, 'float32' | 'int64' | 'int32' | 'float64' | 'uint8' | 'bool'> = {
  FP32: 'float32',
  FP64: 'float64',
  INT64: 'int64',
  INT32: 'int32',
  UINT8: 'uint8',
  BOOL: 'bool',
};
const DATATYPE = Object.fromEntries(Object.entries(ORT_TYPE).map(([k, v]) => [v, k]));

interface V2Input {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

async function main(): Promise<void> {
  const [file, name, threads] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(file!, {
    intraOpNumThreads: Number(threads ?? 1),
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const app = Fastify({ bodyLimit: 256 * 1024 * 1024 });
  app.post('/v2/models/:model/infer', async (request) => {
    const body = request.body as { inputs: V2Input[] };
    const feeds: Record<string, ort.Tensor> = {};
    for (const i of body.inputs) {
      const type = ORT_TYPE[i.datatype]!;
      const flat = i.data.flat(Infinity) as number[];
      const data =
        type === 'int64'
          ? BigInt64Array.from(flat, (v) => BigInt(v))
          : type === 'float32'
            ? Float32Array.from(flat)
            : flat;
      feeds[i.name] = new ort.Tensor(type, data as Float32Array, i.shape);
    }
    const out = await session.run(feeds);
    return {
      model_name: name,
      outputs: Object.entries(out).map(([n, t]) => ({
        name: n,
        datatype: DATATYPE[t.type] ?? t.type,
        shape: t.dims,
        data: Array.from(t.data as Float32Array, (v) => (typeof v === 'bigint' ? Number(v) : v)),
      })),
    };
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${url}\n`);
}

void main();
