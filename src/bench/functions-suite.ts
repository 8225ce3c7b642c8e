// Suite "functions": many small functions on one node. N fine-tuned variants
// of one MLP (shared base layers, the last layer changed), each its own
// function folder with its model file and config, served by one
// `tensorshare serve` (with its daemon). Measures: the first start (ready
// while the model files import in the background; when every function is
// READY; a request sent at once to a function still LOADING), a restart over
// the same repository and store (what a node does after an upgrade or a
// crash), the gateway's memory
// per idle function (Pss from smaps_rollup, against a server with one
// function), repository index and metrics scrape times at N, the first
// request's cold start, and what `inspect` prints for a model N-1 others share.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { readSmapsRollup } from '../proc/smaps.js';
import type { BenchContext } from './context.js';
import { writeFunctionFolders } from './functions-writer.js';
import { startServeProcess, type ServeProcess } from './serve-process.js';

export interface FunctionsPlan {
  functions: number;
  /** MLP of 3 layers of width² float32: 256 is the 0.8 MB model of the issue; --quick uses a smaller one to generate fast. */
  width: number;
  /** Index and metrics requests timed at N. */
  scrapes: number;
  /** Functions whose first request is timed. */
  firstRequests: number;
}

export function functionsPlan(quick: boolean): FunctionsPlan {
  return quick
    ? { functions: 100, width: 64, scrapes: 5, firstRequests: 2 }
    : { functions: 1000, width: 256, scrapes: 20, firstRequests: 5 };
}

export interface ServeStart {
  /**
   * Spawn until the server printed its URL: it listens, every function is listed, READY or (its model
   * file still importing in the background) LOADING, and each takes requests (one for a LOADING
   * function waits for its import).
   */
  readyMs: number;
  /** /v2/health/ready answered 200 right after readyMs. */
  healthReady?: boolean;
  /** Functions listed LOADING right after readyMs (background imports still to do). */
  loadingAtReady?: number;
  /** Spawn until the repository index listed every function READY (every background import done). */
  allReadyMs?: number;
  /** Pss of the serve (gateway) process, idle, after ready. */
  pssBytes: number;
  /** Load average when it started. */
  load: number[];
}

export interface FunctionsResults {
  functions: number;
  /** Width of the MLP (3 layers) and the size of one model file. */
  width: number;
  modelBytes: number;
  /** First start: every model file imported (runtime check), made resident. */
  first: ServeStart;
  /** First start: a request sent right after ready to the last function still LOADING (its import moved to the front, then a cold start). */
  waitingRequest?: { function: string; ms: number; loadingBefore: boolean };
  /** Restart over the same repository and store. */
  restart: ServeStart;
  /** A server with one of the functions (the gateway's fixed memory), started before the N and after them. */
  single: ServeStart;
  singleBefore?: ServeStart;
  /** (restart Pss - the lower single Pss) / (N - 1): the lower baseline, as the fixed memory varies from start to start. */
  bytesPerIdleFunction: number;
  indexMs: number[];
  metricsMs: number[];
  metricsBytes: number;
  /** Per timed function: its first request (cold start) and the one after. */
  requests: { function: string; firstMs: number; coldStartMs?: number; secondMs: number }[];
  inspect: { lines: number; longestLine: number; sharingLine: string; jsonSharedWith: number };
}

export async function runFunctions(ctx: BenchContext): Promise<FunctionsResults> {
  const plan = functionsPlan(ctx.quick);
  const n = plan.functions;
  const dir = await fs.mkdtemp(path.join(ctx.work, 'functions-'));
  const store = await fs.mkdtemp(path.join(ctx.shm, 'functions-'));
  // Instances reach the daemon's socket inside the store: the run's 0700 tmpfs folder above it must be traversable.
  await fs.chmod(ctx.shm, 0o711);
  const repository = path.join(dir, 'repo');
  const functionsDir = path.join(dir, 'functions');
  const singleDir = path.join(dir, 'single');
  try {
    ctx.log(`functions: writing ${n} fine-tuned MLP variants, one function folder each`);
    const modelBytes = await writeFunctionFolders({ dir: functionsDir, functions: n, width: plan.width });
    await fs.mkdir(singleDir);
    await fs.cp(path.join(functionsDir, 'fn-1'), path.join(singleDir, 'fn-1'), { recursive: true });
    let waitingRequest: FunctionsResults['waitingRequest'];
    const serve = async (
      folder: string,
      label: string,
      f?: (s: ServeProcess) => Promise<void>,
      atReady?: (s: ServeProcess, index: IndexEntry[]) => Promise<void>,
    ) => {
      const load = os.loadavg();
      const t0 = performance.now();
      // A first start imports every function's model: at 1,000 functions that can take minutes on 2 cores.
      const s = await startServeProcess({
        repository,
        store,
        functionsDir: folder,
        daemon: 'auto',
        startTimeoutMs: 600_000,
      });
      const readyMs = performance.now() - t0;
      try {
        const healthReady = (await fetch(`${s.url}/v2/health/ready`)).status === 200;
        const index = await repositoryIndex(s.url);
        const loadingAtReady = index.filter((e) => e.state === 'LOADING').length;
        await atReady?.(s, index);
        const allReadyMs = await allReady(s.url, t0);
        await new Promise((r) => setTimeout(r, 1000)); // idle: what start left behind, not its transient buffers
        const start: ServeStart = {
          readyMs,
          healthReady,
          loadingAtReady,
          allReadyMs,
          pssBytes: readSmapsRollup(s.pid).pss,
          load,
        };
        ctx.log(
          `functions: ${label}: ready in ${(readyMs / 1000).toFixed(1)} s (${loadingAtReady} LOADING, health ${healthReady ? 'ready' : 'NOT ready'}), every function READY after ${(allReadyMs / 1000).toFixed(1)} s, Pss ${(start.pssBytes / 2 ** 20).toFixed(1)} MiB`,
        );
        await f?.(s);
        return start;
      } finally {
        await s.stop();
        await socketGone(path.join(store, 'daemon.sock'));
      }
    };
    const body = JSON.stringify({
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [1, plan.width],
          data: new Array(plan.width).fill(0.5),
        },
      ],
    });
    const infer = (url: string, fn: string) =>
      ok(
        fetch(`${url}/v2/models/${fn}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }),
      );
    const singleBefore = await serve(singleDir, 'first start, 1 function');
    const first = await serve(functionsDir, `first start, ${n} functions`, undefined, async (s, index) => {
      // The function the background imports reach last (the scan's order), unless they are done.
      const loading = index.filter((e) => e.state === 'LOADING');
      const fn = (loading.at(-1) ?? index.at(-1))!.name;
      const t = performance.now();
      await infer(s.url, fn);
      waitingRequest = { function: fn, ms: performance.now() - t, loadingBefore: loading.length > 0 };
      ctx.log(
        `functions: first start: a request to ${fn} (${loading.length ? 'LOADING' : 'READY'}) answered in ${waitingRequest.ms.toFixed(0)} ms`,
      );
    });
    const indexMs: number[] = [];
    const metricsMs: number[] = [];
    let metricsBytes = 0;
    const requests: FunctionsResults['requests'] = [];
    const restart = await serve(functionsDir, `restart, ${n} functions`, async (s) => {
      const timed = async (f: () => Promise<unknown>) => {
        const t = performance.now();
        await f();
        return performance.now() - t;
      };
      for (let i = 0; i < plan.scrapes; i++) {
        indexMs.push(await timed(() => ok(fetch(`${s.url}/v2/repository/index`, { method: 'POST', body: '{}' }))));
        metricsMs.push(
          await timed(async () => {
            metricsBytes = (await ok(fetch(`${s.url}/metrics`))).length;
          }),
        );
      }
      for (let k = 0; k < plan.firstRequests; k++) {
        const fn = `fn-${1 + Math.floor((k * n) / plan.firstRequests)}`;
        const call = () => infer(s.url, fn);
        const firstMs = await timed(call);
        // The instance's own cold start (spawn to ready), as the gateway's histogram recorded it.
        const m = new RegExp(`^tensorshare_cold_start_duration_seconds_sum\\{function="${fn}"\\} (\\S+)`, 'm').exec(
          await ok(fetch(`${s.url}/metrics`)),
        );
        const cold = m ? Number(m[1]) * 1000 : undefined;
        requests.push({
          function: fn,
          firstMs,
          ...(typeof cold === 'number' ? { coldStartMs: cold } : {}),
          secondMs: await timed(call),
        });
      }
    });
    const single = await serve(singleDir, 'restart, 1 function');
    const inspect = inspectOf(repository, 'fn-1');
    return {
      functions: n,
      width: plan.width,
      modelBytes,
      first,
      ...(waitingRequest ? { waitingRequest } : {}),
      restart,
      single,
      singleBefore,
      bytesPerIdleFunction: (restart.pssBytes - Math.min(single.pssBytes, singleBefore.pssBytes)) / (n - 1),
      indexMs,
      metricsMs,
      metricsBytes,
      requests,
      inspect,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(store, { recursive: true, force: true });
  }
}

/** Its daemon has gone too (the next server must start its own, not find this one on its way out). */
async function socketGone(socket: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (
      !(await fs.stat(socket).then(
        () => true,
        () => false,
      ))
    )
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface IndexEntry {
  name: string;
  state: string;
}

async function repositoryIndex(url: string): Promise<IndexEntry[]> {
  return JSON.parse(await ok(fetch(`${url}/v2/repository/index`, { method: 'POST', body: '{}' }))) as IndexEntry[];
}

/** Polls the index until every function is READY; ms since `t0`. */
async function allReady(url: string, t0: number, timeoutMs = 900_000): Promise<number> {
  for (;;) {
    const index = await repositoryIndex(url);
    if (index.every((e) => e.state === 'READY')) return performance.now() - t0;
    const bad = index.find((e) => e.state === 'UNAVAILABLE');
    if (bad) throw new Error(`functions: ${bad.name} is UNAVAILABLE: ${JSON.stringify(bad)}`);
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`functions: not every function READY after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ok(res: Promise<Response>): Promise<string> {
  const r = await res;
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${r.url}: HTTP ${r.status}: ${text.slice(0, 200)}`);
  return text;
}

function inspectOf(repository: string, model: string): FunctionsResults['inspect'] {
  const run = (...args: string[]) => {
    const r = spawnSync(
      process.execPath,
      [path.join(packageRoot, 'bin/tensorshare.js'), '--repository', repository, 'inspect', model, ...args],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`tensorshare inspect ${model}: ${r.stderr}`);
    return r.stdout;
  };
  const human = run().split('\n');
  const json = JSON.parse(run('--json')) as { tensors: { sharedWith: string[] }[] };
  return {
    lines: human.length,
    longestLine: Math.max(...human.map((l) => l.length)),
    sharingLine: human.find((l) => l.startsWith('sharing:')) ?? '',
    jsonSharedWith: Math.max(...json.tensors.map((t) => t.sharedWith.length)),
  };
}
