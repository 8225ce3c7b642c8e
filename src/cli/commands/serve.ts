import path from 'node:path';
import type { Command } from 'commander';
import { onStopSignals } from '../stop-signals.js';
import { pino } from 'pino';
import { TensorshareError } from '../../errors.js';
import { POLICIES, type Policy } from '../../sched/index.js';
import { packageRoot } from '../../paths.js';
import { startServer, type GatewayBounds } from '../../serve/server.js';
import { parseTenantWeights } from '../../serve/scheduling.js';
import { fallbackMarks, parseFallbackMarks } from '../../serve/gpu-fallback.js';
import { parseInstanceUsers } from '../../serve/instances/user.js';
import { parseDashboardFlag } from '../../serve/dashboard/index.js';
import { CONTROL_MODES, type ControlMode } from '../../serve/triton-repository/model-repository.js';
import { importBundled } from './demo.js';
import { action } from '../output.js';
import { roots } from '../context.js';
import fs from 'node:fs';
import { parsePlanFile } from '../../plan/plan-file.js';

interface ServeOpts {
  functions: string;
  modelRepository?: string;
  modelControlMode: string;
  loadModel: string[];
  host: string;
  httpPort: string;
  grpcPort: string;
  daemon: string;
  socket?: string;
  bundled: boolean;
  poll: string;
  logLevel: string;
  policy: string;
  tenantWeight: string[];
  tenantFromRequest?: boolean;
  cores?: string;
  prestart?: string;
  instanceExtraCaCerts?: boolean;
  slots?: string;
  realtimeReserve?: string;
  gpuFallback: string;
  gpuFallbackMarks?: string;
  gpuFallbackSampleMs?: string;
  instanceUser: string[];
  maxBodyMb?: string;
  maxJsonResponseMb?: string;
  maxValues?: string;
  requestTimeoutMs?: string;
  decodeWorkers?: string;
  decodeHeapMb?: string;
  dashboard?: string;
  plan?: string;
  backgroundImports: string;
}

const count = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${flag} must be an integer >= 1, got '${v}'`);
  return n;
};

const port = (flag: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${flag} must be a port number (0-65535), got '${v}'`);
  return n;
};

const MiB = 1024 * 1024;

/** Imports at once in the background: each runs ONNX Runtime's load check, so a few keep two cores busy. */
const DEFAULT_BACKGROUND_IMPORTS = 8;

/** The gateway's bounds named on the command line (the rest keep the gateway's defaults). */
function gatewayBounds(o: ServeOpts): GatewayBounds {
  const maxJsonResponseMb = count('--max-json-response-mb', o.maxJsonResponseMb);
  const maxValues = count('--max-values', o.maxValues);
  const mb = count('--max-body-mb', o.maxBodyMb);
  return {
    maxBodyBytes: mb === undefined ? undefined : mb * MiB,
    requestTimeoutMs: count('--request-timeout-ms', o.requestTimeoutMs),
    decodeWorkers: count('--decode-workers', o.decodeWorkers),
    decodeHeapMb: count('--decode-heap-mb', o.decodeHeapMb),
    limits: {
      ...(maxJsonResponseMb === undefined ? {} : { maxJsonResponseBytes: maxJsonResponseMb * MiB }),
      ...(maxValues === undefined ? {} : { maxValues }),
    },
  };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'serve the functions in a folder over KServe v2 / Open Inference Protocol (HTTP + gRPC): each function runs in its own autoscaled instance processes, all sharing model weights',
    )
    .option(
      '--functions <dir>',
      'function repository: <dir>/<name>/config.json (+ handler.js)',
      path.join(packageRoot, 'functions'),
    )
    .option(
      '--model-repository <dir>',
      'serve a Triton model repository instead: <dir>/<model>/config.pbtxt + <dir>/<model>/<version>/model.onnx (ONNX Runtime models)',
    )
    .option(
      '--model-control-mode <mode>',
      `with --model-repository, as tritonserver: ${CONTROL_MODES.join(' | ')} (none: load all at start; poll: and rescan every --poll ms; explicit: only --load-model and the load/unload API)`,
      'none',
    )
    .option(
      '--load-model <name>',
      "explicit mode: a model to load at start ('*': all); repeatable",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--http-port <port>', 'HTTP port (0: any free port)', '8000')
    .option('--grpc-port <port>', "gRPC port (0: any free port, 'off': no gRPC)", '8001')
    .option(
      '--daemon <mode>',
      "'auto': use the running daemon, or start one; 'off': instances open models without a daemon",
      'auto',
    )
    .option('--socket <path>', 'daemon socket (default <store>/daemon.sock)')
    .option('--no-bundled', 'do not import the bundled models (PaddleOCR, silero VAD) at start')
    .option('--poll <ms>', 'scan the function repository for changes this often (0: only the load/unload API)', '2000')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .option('--policy <policy>', `scheduling policy across requests and functions: ${POLICIES.join(' | ')}`, 'fifo')
    .option(
      '--tenant-weight <tenant=weight>',
      "fair policy: a tenant's share weight (default 1); repeatable, or comma-separated",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      '--tenant-from-request',
      "let requests name their tenant with the 'tenant' parameter (default: each function's configured tenant)",
    )
    .option(
      '--prestart <n>',
      'idle instance processes kept started (Node and ONNX Runtime loaded, no model yet) so a start from zero skips process start-up; within the memory budget (default 1)',
    )
    .option(
      '--instance-extra-ca-certs',
      'instance processes keep NODE_EXTRA_CA_CERTS (default: they start without it: Node parses that file at every start, about 30 ms for a system bundle)',
    )
    .option('--cores <n>', "cores instances' intra-op threads may take in total (default: all of this machine's)")
    .option(
      '--slots <n>',
      'most batches running at once across all functions (default: ready instances x targetConcurrency)',
    )
    .option(
      '--realtime-reserve <runs>',
      'priority policy: runs of a function that besteffort leaves free while realtime requests for it keep coming (default 0)',
    )
    .option(
      '--gpu-fallback <on|off>',
      'besteffort requests of device: auto functions run on CPU while realtime work saturates the GPU executor, and move back once it is calm',
      'on',
    )
    .option(
      '--gpu-fallback-marks <mark=n,...>',
      'when the fallback moves work: enterQueueDepth, enterWaitMs (realtime requests queued on the executor, their oldest wait), exitQueueDepth, exitWaitMs, holdMs (calm for this long before moving back); default 4,20,0,5,500',
    )
    .option(
      '--gpu-fallback-sample-ms <ms>',
      "how often the executors' realtime load is sampled while device: auto functions have traffic (default 25)",
    )
    .option(
      '--instance-user <[tenant=]user>',
      "user instance processes run as (name, uid or uid:gid; default as root: nobody); tenant=user: that tenant's functions run as their own user; repeatable. Needs root and a daemon",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--max-body-mb <n>', 'largest HTTP body (also decompressed) and gRPC message, MiB (default 64)')
    .option(
      '--max-json-response-mb <n>',
      'largest JSON response (and gRPC typed response contents), MiB; larger answers ask for binary outputs (default 64)',
    )
    .option(
      '--max-values <n>',
      'tensor elements one request may send as JSON data or gRPC typed contents (default 4194304)',
    )
    .option(
      '--request-timeout-ms <ms>',
      'a request must arrive whole (headers and body; a gRPC message) within this: 408 / DEADLINE_EXCEEDED (default 60000)',
    )
    .option('--decode-workers <n>', 'worker threads decoding large bodies at once (default 2)')
    .option('--decode-heap-mb <n>', "each decode worker's heap, MiB; a body decoding to more gets 413 (default 512)")
    .option(
      '--dashboard <[host:]port>',
      'serve the live web dashboard at /dashboard/ on its own port (host default 127.0.0.1; port 0: any free port); off by default',
    )
    .option(
      '--background-imports <n>',
      "model files (a function's modelFile) imported at once in the background: serve answers first, a function at minInstances 0 whose file is not imported yet is LOADING and its first request waits for its import (0: import every model file before serving)",
      String(DEFAULT_BACKGROUND_IMPORTS),
    )
    .option(
      '--plan <file>',
      "apply a plan of tensorshare plan --out: its instances, threads, batch cap and device replace those functions' settings",
    )
    .action(
      action(async (opts: ServeOpts, cmd: Command) => {
        if (opts.daemon !== 'auto' && opts.daemon !== 'off')
          throw new TensorshareError('ERR_INVALID_ARGUMENT', `--daemon must be auto or off, got '${opts.daemon}'`);
        if (!(POLICIES as readonly string[]).includes(opts.policy))
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--policy must be one of ${POLICIES.join(', ')}, got '${opts.policy}'`,
          );
        if (!(CONTROL_MODES as readonly string[]).includes(opts.modelControlMode))
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--model-control-mode must be one of ${CONTROL_MODES.join(', ')}, got '${opts.modelControlMode}'`,
          );
        if (opts.modelRepository === undefined && (opts.loadModel.length > 0 || opts.modelControlMode !== 'none'))
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            '--model-control-mode and --load-model apply to --model-repository',
          );
        const tenantWeights = parseTenantWeights(opts.tenantWeight);
        const cores = count('--cores', opts.cores);
        const prestart = opts.prestart === undefined ? undefined : Number(opts.prestart);
        if (prestart !== undefined && !(Number.isInteger(prestart) && prestart >= 0))
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--prestart must be an integer >= 0, got '${opts.prestart}'`,
          );
        const slots = count('--slots', opts.slots);
        const backgroundImports = Number(opts.backgroundImports);
        if (!(Number.isInteger(backgroundImports) && backgroundImports >= 0))
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--background-imports must be an integer >= 0, got '${opts.backgroundImports}'`,
          );
        const realtimeReserve = opts.realtimeReserve === undefined ? undefined : Number(opts.realtimeReserve);
        if (realtimeReserve !== undefined && !(Number.isInteger(realtimeReserve) && realtimeReserve >= 0)) {
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--realtime-reserve must be an integer >= 0, got '${opts.realtimeReserve}'`,
          );
        }
        if (realtimeReserve && opts.policy !== 'priority')
          throw new TensorshareError('ERR_INVALID_ARGUMENT', '--realtime-reserve only applies with --policy priority');
        if (opts.gpuFallback !== 'on' && opts.gpuFallback !== 'off')
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--gpu-fallback must be 'on' or 'off', got '${opts.gpuFallback}'`,
          );
        const sampleMs = opts.gpuFallbackSampleMs === undefined ? undefined : Number(opts.gpuFallbackSampleMs);
        if (sampleMs !== undefined && !(Number.isFinite(sampleMs) && sampleMs > 0))
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--gpu-fallback-sample-ms must be a number > 0, got '${opts.gpuFallbackSampleMs}'`,
          );
        const marks = opts.gpuFallbackMarks === undefined ? undefined : parseFallbackMarks(opts.gpuFallbackMarks);
        if (marks) fallbackMarks(marks);
        // As root, handler code never runs as root: instances get an unprivileged user that can read the store and reach the socket.
        const asRoot = process.geteuid?.() === 0;
        // (startServer refuses other users with --daemon off: instances write the store themselves then.)
        const instanceUsers =
          opts.instanceUser.length > 0 || (asRoot && opts.daemon === 'auto')
            ? parseInstanceUsers(opts.instanceUser, 'nobody')
            : undefined;
        const dashboard = opts.dashboard === undefined ? undefined : parseDashboardFlag(opts.dashboard);
        const r = roots(cmd);
        const logger = pino({ name: 'tensorshare-serve', level: opts.logLevel }, pino.destination(2));
        // The bundled functions name these models; importing is idempotent.
        if (opts.bundled) await importBundled(r.repository);
        const server = await startServer({
          functionsDir: path.resolve(opts.modelRepository ?? opts.functions),
          ...(opts.modelRepository === undefined
            ? {}
            : {
                modelRepository: {
                  controlMode: opts.modelControlMode as ControlMode,
                  loadModels: opts.loadModel,
                },
              }),
          repository: r.repository,
          store: r.store,
          host: opts.host,
          httpPort: port('--http-port', opts.httpPort),
          grpcPort: opts.grpcPort === 'off' ? false : port('--grpc-port', opts.grpcPort),
          daemon: opts.daemon,
          socket: opts.socket,
          pollIntervalMs: Number(opts.poll),
          policy: opts.policy as Policy,
          tenantWeights,
          tenantFromRequest: opts.tenantFromRequest === true,
          cores,
          slots,
          realtimeReserve,
          gpuFallback: {
            enabled: opts.gpuFallback === 'on',
            ...(marks ? { marks } : {}),
            ...(sampleMs ? { sampleMs } : {}),
          },
          instanceUsers,
          prestart,
          instanceExtraCaCerts: opts.instanceExtraCaCerts === true,
          backgroundImports,
          gateway: gatewayBounds(opts),
          ...(dashboard ? { dashboard } : {}),
          ...(opts.plan ? { plan: readPlan(opts.plan) } : {}),
          logger,
        });
        const g = server.gateway;
        logger.info(
          {
            http: g.httpUrl,
            grpc: g.grpcAddress ?? null,
            functions: server.runtime.list().map((f) => f.name),
            daemon: server.daemon.mode,
          },
          'serving',
        );
        // Its own line, before the serving line that scripts wait for.
        if (server.dashboard) process.stdout.write(`tensorshare dashboard on ${server.dashboard.url}\n`);
        process.stdout.write(
          `tensorshare serving ${server.runtime
            .list()
            .map((f) => f.name)
            .join(', ')} on ${g.httpUrl}${g.grpcAddress ? ` and grpc ${g.grpcAddress}` : ''} (Ctrl-C to stop)\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            logger.info({ signal }, 'shutting down: draining in-flight requests');
            server.close().then(resolve, (e) => {
              logger.error({ err: e }, 'shutdown failed');
              resolve();
            });
          };
          onStopSignals(stop);
        });
        logger.info('stopped');
      }),
    );
}

function readPlan(file: string) {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `--plan ${file}: ${(e as Error).message}`, { file });
  }
  return parsePlanFile(raw, file);
}
