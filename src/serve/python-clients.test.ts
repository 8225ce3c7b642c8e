// Other people's clients against a real `serve` over loopback: Triton's
// tritonclient (HTTP and gRPC) and KServe's SDK inference clients run every
// case of test/python/clients.py, and schemathesis fuzzes the HTTP API from
// the protocol's published OpenAPI document (docs/openapi/) for a bounded
// number of examples: no 5xx, no hang. The Python packages are pinned with
// hashes in test/python/requirements.txt and installed into .venv-python by
// src/testing/python-env.ts (once; reused while the requirements match).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { packageRoot } from '../paths.js';
import { writeFunction } from '../testing/functions.js';
import { ensurePythonEnv, PYTHON_TESTS, pythonChildEnv, type PythonEnv } from '../testing/python-env.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { testEnv } from '../testing/env.js';
import { startServer, type RunningServer } from './server.js';

// y = 2x, half_out = half (same bits), flag_out = not flag, text_out = text upper-cased;
// a sleep_ms parameter holds the (single) instance that long first.
const ECHO_HANDLER = `
export const metadata = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 2] },
    { name: 'half', datatype: 'FP16', shape: [-1] },
    { name: 'flag', datatype: 'BOOL', shape: [-1] },
    { name: 'text', datatype: 'BYTES', shape: [-1] },
  ],
  outputs: [
    { name: 'y', datatype: 'FP32', shape: [-1, 2] },
    { name: 'half_out', datatype: 'FP16', shape: [-1] },
    { name: 'flag_out', datatype: 'BOOL', shape: [-1] },
    { name: 'text_out', datatype: 'BYTES', shape: [-1] },
  ],
};
export async function handle(request) {
  const sleepMs = request.parameters?.sleep_ms;
  if (sleepMs) await new Promise((r) => setTimeout(r, Number(sleepMs)));
  const input = (n) => request.inputs.find((t) => t.name === n);
  const x = input('x');
  const half = input('half');
  const flag = input('flag');
  const text = input('text');
  return {
    outputs: [
      { name: 'y', datatype: 'FP32', shape: x.shape, data: x.data.map((v) => v * 2) },
      { name: 'half_out', datatype: 'FP16', shape: half.shape, data: Uint16Array.from(half.data) },
      { name: 'flag_out', datatype: 'BOOL', shape: flag.shape, data: flag.data.map((v) => (v ? 0 : 1)) },
      { name: 'text_out', datatype: 'BYTES', shape: text.shape, data: text.data.map((b) => Buffer.from(b).toString('utf8').toUpperCase()) },
    ],
  };
}
`;

/** Every case clients.py runs; a case missing from its output fails as surely as a failed one. */
const CASES = [
  ...['http', 'grpc'].flatMap((p) => [
    `triton.${p}.server_live`,
    `triton.${p}.server_ready`,
    `triton.${p}.server_metadata`,
    `triton.${p}.model_ready`,
    `triton.${p}.model_metadata`,
    ...(p === 'http'
      ? [`triton.${p}.infer_json`, `triton.${p}.infer_binary`, `triton.${p}.infer_binary_in_json_out`]
      : [`triton.${p}.infer_raw`]),
    `triton.${p}.infer_all_outputs`,
    `triton.${p}.parameters_priority_timeout`,
    `triton.${p}.timeout_expires_in_queue`,
    `triton.${p}.repository_index_load_unload`,
    `triton.${p}.error_unknown_model`,
    `triton.${p}.error_bad_shape`,
    `triton.${p}.error_bad_parameter`,
  ]),
  'kserve.rest.server_live_ready',
  'kserve.rest.model_ready',
  'kserve.rest.infer_json',
  'kserve.rest.infer_binary',
  'kserve.rest.error_unknown_model',
  'kserve.grpc.server_live_ready',
  'kserve.grpc.model_ready',
  'kserve.grpc.infer',
  'kserve.grpc.error_unknown_model',
];

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the venv's Python; kills it (and fails) past `limitMs`, so a hang is a failure, not a stuck suite. */
function runPython(py: PythonEnv, args: string[], cwd: string, limitMs: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(py.python, args, { cwd, env: pythonChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python ${args[0]} still running after ${limitMs} ms (a hang):\n${stdout}\n${stderr}`));
    }, limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('official Python clients and a schema-driven fuzzer against tensorshare serve', () => {
  let roots: TempRoots;
  let server: RunningServer;
  let py: PythonEnv;
  let httpHostPort: string;

  before(
    async () => {
      py = await ensurePythonEnv();
      roots = await tempRoots('pyclients');
      const functionsDir = path.join(roots.dir, 'functions');
      await writeFunction(functionsDir, 'echo', { minInstances: 1, maxInstances: 1 }, ECHO_HANDLER);
      await writeFunction(functionsDir, 'spare', { maxInstances: 1 }, ECHO_HANDLER);
      server = await startServer({
        functionsDir,
        repository: roots.repository,
        store: roots.store,
        httpPort: 0,
        grpcPort: 0,
        daemon: 'off',
        pollIntervalMs: 0,
        env: testEnv(),
        logger: pino({ level: 'warn' }, pino.destination(2)),
      });
      httpHostPort = new URL(server.gateway.httpUrl).host;
      // A fresh machine downloads and installs the pinned packages first (about 150 s here, no pip cache).
    },
    { timeout: 600_000 },
  );
  after(async () => {
    await server?.close();
    await roots?.cleanup();
  });

  test('tritonclient (HTTP, gRPC) and KServe InferenceRESTClient / InferenceGRPCClient: every case passes', async (t) => {
    t.diagnostic(`python venv install: ${py.installMs} ms (0: reused)`);
    const results: { case: string; ok: boolean; error: string }[] = [];
    // One process per client family: both register the protocol's protobuf messages globally.
    for (const family of ['triton', 'kserve']) {
      const ran = await runPython(
        py,
        [path.join(PYTHON_TESTS, 'clients.py'), family, httpHostPort, server.gateway.grpcAddress!],
        roots.dir,
        120_000,
      );
      assert.equal(ran.code, 0, `clients.py ${family} exited ${ran.code}:\n${ran.stderr}`);
      for (const line of ran.stdout.split('\n')) if (line.startsWith('{')) results.push(JSON.parse(line));
    }
    const failed = results.filter((r) => !r.ok).map((r) => `${r.case}:\n${r.error}`);
    assert.deepEqual(failed, [], `failed cases:\n${failed.join('\n')}`);
    assert.deepEqual(
      results.map((r) => r.case),
      CASES,
      'clients.py ran exactly the expected cases',
    );
  });

  test('schemathesis over the published OpenAPI document: no 5xx and no hang', async (t) => {
    // The published document writes path parameters as `${NAME}` (its docs' template, not
    // OpenAPI's `{NAME}`): rewrite them, and pin MODEL_NAME to the served functions and an
    // unknown one, so generated bodies reach decoding and validation instead of a 404.
    // The run is bounded by examples and by --max-time; the kill below makes a hang a failure.
    const text = (await fs.readFile(path.join(packageRoot, 'docs', 'openapi', 'rest_predict_v2.yaml'), 'utf8')).replace(
      /\$\{(MODEL_NAME|MODEL_VERSION)\}/g,
      '{$1}',
    );
    const doc = parseYaml(text) as {
      paths: Record<string, { parameters?: { name: string; schema: Record<string, unknown> }[] }>;
    };
    for (const item of Object.values(doc.paths))
      for (const p of item.parameters ?? []) {
        if (p.name === 'MODEL_NAME') p.schema = { type: 'string', enum: ['echo', 'no-such-model'] };
        if (p.name === 'MODEL_VERSION') p.schema = { type: 'string', enum: ['1', '2'] };
      }
    const schema = path.join(roots.dir, 'openapi.yaml');
    await fs.writeFile(schema, stringifyYaml(doc));
    const ran = await runPython(
      py,
      [
        '-m',
        'schemathesis.cli',
        'run',
        schema,
        '--url',
        server.gateway.httpUrl,
        '--checks',
        'not_a_server_error',
        '--max-examples',
        '60',
        '--max-time',
        '40',
        '--request-timeout',
        '20',
        '--seed',
        '16',
        '--workers',
        '1',
        '--suppress-health-check',
        'all',
      ],
      roots.dir,
      120_000,
    );
    t.diagnostic(ran.stdout.split('\n').slice(-12).join('\n'));
    assert.equal(ran.code, 0, `schemathesis found failures:\n${ran.stdout}\n${ran.stderr}`);
    assert.match(ran.stdout, /passed/, 'schemathesis ran test cases');
    assert.equal((await fetch(`${server.gateway.httpUrl}/v2/health/ready`)).status, 200, 'ready after the fuzzing');
  });
});
