// Open-loop load generator. Arrivals follow a Poisson process whose rate
// changes in fixed steps; the schedule is computed up front from a seeded PRNG
// (same seed, same schedule) and sent on time regardless of how many requests
// are still outstanding. Latency is measured from each request's *scheduled*
// time, so a generator that falls behind shows up as latency instead of being
// hidden (no coordinated omission). The run is bounded both in request count
// and in time. The transport is the caller's `send()`.

import type { Clock } from '../sched/clock.js';
import { realClock } from '../sched/clock.js';
import { seededRandom } from '../prng.js';
import { percentile } from './stats.js';

export interface LoadStep {
  /** Mean arrivals per second during this step (0 = pause). */
  ratePerSec: number;
  durationMs: number;
}

/** A kind of request in the mix; `name` keys the per-class report. */
export interface LoadClass {
  name: string;
  /** Relative share of arrivals. Default 1. */
  weight?: number;
  tenant?: string;
  priority?: string;
  fn?: string;
}

export interface Arrival {
  index: number;
  /** Scheduled send time, ms from the start of the run. */
  at: number;
  /** Index into the steps. */
  step: number;
  cls: LoadClass;
}

export interface ScheduleOptions {
  steps: LoadStep[];
  seed: number;
  /** No more than this many arrivals. */
  maxRequests: number;
  /** No arrivals at or after this time, ms. Default: the steps' total. */
  maxDurationMs?: number;
  classes?: LoadClass[];
}

/** The deterministic arrival schedule. Exponential gaps; a step change restarts the gap (memoryless). */
export function poissonSchedule(o: ScheduleOptions): Arrival[] {
  const rand = seededRandom(o.seed);
  const defaultClass: LoadClass = { name: 'default' };
  const classes = o.classes?.length ? o.classes : [defaultClass];
  const totalWeight = classes.reduce((a, c) => a + (c.weight ?? 1), 0);
  const pick = (): LoadClass => {
    let u = rand() * totalWeight;
    for (const c of classes) {
      u -= c.weight ?? 1;
      if (u < 0) return c;
    }
    return classes.at(-1) ?? defaultClass;
  };
  const end = Math.min(
    o.maxDurationMs ?? Infinity,
    o.steps.reduce((a, s) => a + s.durationMs, 0),
  );
  const out: Arrival[] = [];
  let stepStart = 0;
  for (const [step, { ratePerSec, durationMs }] of o.steps.entries()) {
    if (stepStart >= end) break;
    const stepEnd = Math.min(stepStart + durationMs, end);
    if (ratePerSec > 0) {
      for (let t = stepStart; ; ) {
        t += (-Math.log(1 - rand()) / ratePerSec) * 1000;
        if (t >= stepEnd) break;
        if (out.length >= o.maxRequests) return out;
        out.push({ index: out.length, at: t, step, cls: pick() });
      }
    }
    stepStart += durationMs;
  }
  return out;
}

export interface LoadOptions extends ScheduleOptions {
  /** Sends one request; resolves on success, rejects on failure (with `code` and/or HTTP `status`). */
  send: (a: Arrival) => Promise<unknown>;
  /** Latency objective for SLO attainment, ms. */
  sloMs: number;
  /** After the last arrival, wait at most this long for outstanding requests, ms. Default 1000. */
  drainMs?: number;
  clock?: Clock;
}

export interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface GroupReport {
  sent: number;
  ok: number;
  /** Failed requests by error code (e.g. ERR_OVERLOADED) or "HTTP <status>". */
  rejections: Record<string, number>;
  /** Still outstanding when the run ended. */
  unfinished: number;
  /** Successful completions per second over the group's window. */
  throughputPerSec: number;
  /** Latency of successful requests, ms from their scheduled time. */
  latency: LatencyStats;
  /** Fraction of *sent* requests that succeeded within the SLO (failures and unfinished count as misses). */
  sloAttainment: number;
}

export interface LoadReport extends GroupReport {
  durationMs: number;
  sloMs: number;
  byClass: Record<string, GroupReport>;
  /** One per step, with its offered rate. */
  bySteps: Array<GroupReport & { ratePerSec: number }>;
}

interface Outcome {
  a: Arrival;
  latencyMs?: number;
  error?: string;
}

/** Runs the schedule against `send` and reports. Resolves after all requests settle or the drain time runs out. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const clock = o.clock ?? realClock;
  const arrivals = poissonSchedule(o);
  const outcomes: Outcome[] = arrivals.map((a) => ({ a }));
  const t0 = clock.now();
  let settled = 0;
  let sentAll = false;
  let lastEvent = 0;

  await new Promise<void>((resolveRun) => {
    let finished = false;
    let drainTimer: unknown;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (drainTimer !== undefined) clock.clearTimeout(drainTimer);
      resolveRun();
    };
    const maybeDone = () => {
      if (sentAll && settled === arrivals.length) finish();
    };
    const fire = (out: Outcome) => {
      const a = out.a;
      const scheduled = t0 + a.at;
      const done = (error?: unknown) => {
        if (finished) return;
        const now = clock.now();
        lastEvent = Math.max(lastEvent, now - t0);
        if (error === undefined) out.latencyMs = now - scheduled;
        else out.error = errorKey(error);
        settled++;
        maybeDone();
      };
      let p: Promise<unknown>;
      try {
        p = o.send(a);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        () => done(),
        (e: unknown) => done(e ?? 'error'),
      );
    };
    let i = 0;
    const tick = () => {
      const now = clock.now() - t0;
      let next = outcomes[i];
      while (next !== undefined && next.a.at <= now) {
        i++;
        fire(next);
        next = outcomes[i];
      }
      if (next !== undefined) {
        clock.setTimeout(tick, next.a.at - now);
        return;
      }
      sentAll = true;
      lastEvent = Math.max(lastEvent, arrivals.at(-1)?.at ?? 0);
      drainTimer = clock.setTimeout(finish, o.drainMs ?? 1000);
      maybeDone();
    };
    tick();
  });

  const windowMs = Math.max(lastEvent, 1);
  const report = (xs: Outcome[], ms: number) => groupReport(xs, ms, o.sloMs);
  const byClass: Record<string, GroupReport> = {};
  // Every declared class gets a report, even one that drew no arrivals in a short run.
  for (const name of new Set([...(o.classes ?? []).map((c) => c.name), ...outcomes.map((x) => x.a.cls.name)])) {
    byClass[name] = report(
      outcomes.filter((x) => x.a.cls.name === name),
      windowMs,
    );
  }
  return {
    ...report(outcomes, windowMs),
    durationMs: windowMs,
    sloMs: o.sloMs,
    byClass,
    bySteps: o.steps.map((s, k) => ({
      ratePerSec: s.ratePerSec,
      ...report(
        outcomes.filter((x) => x.a.step === k),
        s.durationMs,
      ),
    })),
  };
}

function groupReport(xs: Outcome[], windowMs: number, sloMs: number): GroupReport {
  const lat = xs
    .filter((x) => x.latencyMs !== undefined)
    .map((x) => x.latencyMs!)
    .sort((a, b) => a - b);
  const rejections: Record<string, number> = {};
  for (const x of xs) if (x.error !== undefined) rejections[x.error] = (rejections[x.error] ?? 0) + 1;
  const failed = Object.values(rejections).reduce((a, b) => a + b, 0);
  return {
    sent: xs.length,
    ok: lat.length,
    rejections,
    unfinished: xs.length - lat.length - failed,
    throughputPerSec: (lat.length * 1000) / Math.max(windowMs, 1),
    latency: latencyStats(lat),
    sloAttainment: xs.length ? lat.filter((l) => l <= sloMs).length / xs.length : 1,
  };
}

/** Latency summary of ascending `sorted`; percentiles from stats.ts, NaN when nothing completed. */
export function latencyStats(sorted: readonly number[]): LatencyStats {
  const at = (p: number) => (sorted.length ? percentile(sorted, p) : NaN);
  return {
    count: sorted.length,
    mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: sorted.at(-1) ?? NaN,
  };
}

/** "ERR_OVERLOADED" for errors with a string code, "HTTP 503" for ones with a numeric status. */
export function errorKey(e: unknown): string {
  const o = (typeof e === 'object' && e !== null ? e : {}) as {
    code?: unknown;
    status?: unknown;
    statusCode?: unknown;
    name?: unknown;
  };
  if (typeof o.code === 'string') return o.code;
  const status = typeof o.status === 'number' ? o.status : o.statusCode;
  if (typeof status === 'number') return `HTTP ${status}`;
  return typeof o.name === 'string' ? o.name : String(e);
}

/** A few lines for a terminal. */
export function formatReport(r: LoadReport): string {
  const f = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(1));
  const line = (name: string, g: GroupReport) =>
    `${name.padEnd(16)} sent ${g.sent} ok ${g.ok} ${g.throughputPerSec.toFixed(1)}/s p50 ${f(g.latency.p50)} p95 ${f(g.latency.p95)} p99 ${f(g.latency.p99)} ms` +
    ` slo ${(100 * g.sloAttainment).toFixed(1)}%` +
    (Object.keys(g.rejections).length ? ` rejected ${JSON.stringify(g.rejections)}` : '') +
    (g.unfinished ? ` unfinished ${g.unfinished}` : '');
  return [
    line('all', r),
    ...Object.entries(r.byClass).map(([k, g]) => line(`  ${k}`, g)),
    ...r.bySteps.map((g, k) => line(`  step ${k} @${g.ratePerSec}/s`, g)),
  ].join('\n');
}
