// The hostile requests of issue 11, aimed at a real `tensorshare serve` with
// the bundled functions (`ocr`: a BYTES image; `ppocr-rec`: FP32 [N,3,48,W]).
// Each sends one request and says how it was answered; the benchmark runs
// each in its own process so the prober's event loop measures only the server.
import net from 'node:net';
import {
  binaryEmptyElements,
  deepShapeBody,
  emptyBytesContents,
  jsonEmptyArrays,
  jsonEmptyObjects,
  modelInferMessage,
  rawModelInfer,
} from './bodies.js';
import { blankPng } from './media.js';

export interface Target {
  http: string;
  grpc: string;
}

export interface Answer {
  /** HTTP status, or `grpc <code>`. */
  status: string;
  /** A server error (5xx, or gRPC INTERNAL / UNKNOWN / UNAVAILABLE / DATA_LOSS). */
  serverError: boolean;
  /** Response bytes received. */
  bytes: number;
  /** The start of the error message, if any. */
  detail: string;
}

export interface Attack {
  id: string;
  what: string;
  /** Part of the quick run (CI). */
  quick: boolean;
  send(t: Target): Promise<Answer>;
}

const MiB = 1024 * 1024;
const GRPC_SERVER_ERRORS = new Set([2, 13, 14, 15]);

async function post(url: string, body: Buffer | string, headers: Record<string, string>): Promise<Answer> {
  const bytesIn =
    typeof body === 'string' ? body : new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength);
  const res = await fetch(url, { method: 'POST', body: bytesIn, headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  const detail = res.status >= 400 ? bytes.subarray(0, 160).toString() : '';
  return { status: String(res.status), serverError: res.status >= 500, bytes: bytes.length, detail };
}

const json = (t: Target, model: string, body: Buffer | string) =>
  post(`${t.http}/v2/models/${model}/infer`, body, { 'content-type': 'application/json' });

async function grpcInfer(t: Target, message: Buffer): Promise<Answer> {
  const r = await rawModelInfer(t.grpc, message);
  return {
    status: `grpc ${r.code}`,
    serverError: GRPC_SERVER_ERRORS.has(r.code),
    bytes: r.response?.length ?? 0,
    detail: r.details.slice(0, 160),
  };
}

/** Sends ppocr-rec a request of width `w` (FP32 0.5 everywhere), JSON in and out, or binary in and out. */
function recInfer(t: Target, w: number, binary: boolean): Promise<Answer> {
  const n = 3 * 48 * w;
  const shape = [1, 3, 48, w];
  if (!binary) {
    const data = `[${'0.5,'.repeat(n - 1)}0.5]`;
    return json(
      t,
      'ppocr-rec',
      `{"inputs":[{"name":"x","datatype":"FP32","shape":${JSON.stringify(shape)},"data":${data}}]}`,
    );
  }
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape, parameters: { binary_data_size: n * 4 } }],
      parameters: { binary_data_output: true },
    }),
  );
  return post(
    `${t.http}/v2/models/ppocr-rec/infer`,
    Buffer.concat([header, Buffer.from(new Float32Array(n).fill(0.5).buffer)]),
    {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    },
  );
}

/** Promises a body of 100,000 bytes and sends one byte every `everyMs` until the server answers or closes. */
function slowUpload(t: Target, everyMs: number): Promise<Answer> {
  const { hostname, port } = new URL(t.http);
  return new Promise((resolve, reject) => {
    let got = '';
    const s = net.connect(Number(port), hostname, () => {
      s.write(
        'POST /v2/models/ocr/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n',
      );
    });
    const drip = setInterval(() => s.write('['), everyMs);
    s.on('data', (d) => {
      got += d;
    });
    s.on('error', (e) => {
      clearInterval(drip);
      if (got) resolve(answerOf(got));
      else reject(e);
    });
    s.on('close', () => {
      clearInterval(drip);
      resolve(answerOf(got));
    });
  });
}

function answerOf(raw: string): Answer {
  const status = /^HTTP\/1\.1 (\d+)/.exec(raw)?.[1] ?? 'closed';
  return {
    status,
    serverError: Number(status) >= 500,
    bytes: raw.length,
    detail: raw.slice(raw.indexOf('\r\n\r\n') + 4, raw.indexOf('\r\n\r\n') + 164),
  };
}

export const ATTACKS: readonly Attack[] = [
  {
    id: 'idle',
    what: 'nothing (2 s): the baseline',
    quick: true,
    send: () =>
      new Promise((r) => setTimeout(() => r({ status: '-', serverError: false, bytes: 0, detail: '' }), 2000)),
  },
  {
    id: 'grpc-empty-bytes-60',
    what: 'gRPC ModelInfer of 60 MiB: 31 million empty bytes_contents',
    quick: true,
    send: (t) =>
      grpcInfer(
        t,
        modelInferMessage('ocr', {
          name: 'image',
          datatype: 'BYTES',
          shape: [1],
          contents: emptyBytesContents(60 * MiB),
        }),
      ),
  },
  {
    id: 'grpc-empty-bytes-24',
    what: 'gRPC ModelInfer of 24 MiB: 12 million empty bytes_contents',
    quick: false,
    send: (t) =>
      grpcInfer(
        t,
        modelInferMessage('ocr', {
          name: 'image',
          datatype: 'BYTES',
          shape: [1],
          contents: emptyBytesContents(24 * MiB),
        }),
      ),
  },
  {
    id: 'http-binary-empty-63',
    what: 'HTTP: 63 MiB binary BYTES of zero-length elements',
    quick: false,
    send: (t) => {
      const { body, headers } = binaryEmptyElements(63 * MiB, 1, 'image');
      return post(`${t.http}/v2/models/ocr/infer`, body, headers);
    },
  },
  {
    id: 'http-json-objects-63',
    what: 'HTTP: 63 MiB JSON {"x":[{},{},...]}',
    quick: true,
    send: (t) => json(t, 'ocr', jsonEmptyObjects(63 * MiB)),
  },
  {
    id: 'http-json-arrays-63',
    what: 'HTTP: 63 MiB JSON "data":[[],[],...]',
    quick: false,
    send: (t) => json(t, 'ocr', jsonEmptyArrays(63 * MiB, 'image')),
  },
  {
    id: 'rec-20000-json',
    what: 'ppocr-rec [1,3,48,20000], JSON out (373 MB of JSON)',
    quick: true,
    send: (t) => recInfer(t, 20000, false),
  },
  {
    id: 'rec-30000-json',
    what: 'ppocr-rec [1,3,48,30000], JSON out',
    quick: false,
    send: (t) => recInfer(t, 30000, false),
  },
  {
    id: 'rec-20000-binary',
    what: 'ppocr-rec [1,3,48,20000], binary in and out (66 MB answer)',
    quick: false,
    send: (t) => recInfer(t, 20000, true),
  },
  {
    id: 'png-bomb',
    what: 'ocr: a PNG of 12000x12000 pixels',
    quick: true,
    send: (t) =>
      json(
        t,
        'ocr',
        JSON.stringify({
          inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [blankPng(12000, 12000).toString('base64')] }],
        }),
      ),
  },
  {
    id: 'slow-upload',
    what: 'HTTP: Content-Length 100000, one byte every 500 ms',
    quick: false,
    send: (t) => slowUpload(t, 500),
  },
  {
    id: 'deep-shape',
    what: 'HTTP: a shape nested 100,000 arrays deep',
    quick: false,
    send: (t) => json(t, 'ppocr-rec', deepShapeBody(100_000).replace('"INPUT0"', '"x"')),
  },
  {
    id: 'zero-dims',
    what: 'ppocr-rec [0,3,48,320]',
    quick: false,
    send: (t) => json(t, 'ppocr-rec', '{"inputs":[{"name":"x","datatype":"FP32","shape":[0,3,48,320],"data":[]}]}'),
  },
];
