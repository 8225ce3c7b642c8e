// GPU -> CPU fallback, simulated on fake time: the src/sched decision
// (fallbackStep / deviceFor) against a stand-in GPU (one execution slot,
// realtime ahead of besteffort, as the executor orders them) and CPU
// instances (slower, two slots). Realtime arrives in bursts that saturate the
// GPU, besteffort steadily; requests still queued after their timeout fail.
// Fallback off: every besteffort request waits for the GPU. On: while the GPU
// is saturated by realtime work, new besteffort requests go to the CPU.
import { seededRandom } from '../../prng.js';
import { FALLBACK_DEFAULTS, deviceFor, fallbackStep, initialFallback } from '../../sched/index.js';
import { percentile } from '../stats.js';
import type { FallbackSim } from './results.js';

export const FALLBACK_SETUP = {
  seconds: 60,
  gpuServiceMs: 5,
  cpuServiceMs: 20,
  cpuSlots: 2,
  /** Realtime, as a multiple of the GPU's capacity: bursts of burstMs, then quiet for quietMs. */
  rtBurst: 1.1,
  rtQuiet: 0.2,
  burstMs: 2000,
  quietMs: 2000,
  /** Besteffort, as a multiple of the GPU's capacity, all the time. */
  be: 0.5,
  timeoutMs: 1000,
} as const;

/** The default marks, but the starvation mark below this setup's 1 s timeout (a starved request fails at 1 s here). */
export const SIM_MARKS = { ...FALLBACK_DEFAULTS, enterBesteffortWaitMs: 200 } as const;

interface Req {
  at: number;
  rt: boolean;
}

export function simulateFallback(on: boolean, seed = 11): FallbackSim['on'] {
  const s = FALLBACK_SETUP;
  const rand = seededRandom(seed);
  const cap = 1000 / s.gpuServiceMs; // requests/s
  const gpuQ: Req[] = [];
  const cpuQ: Req[] = [];
  let gpuBusyUntil = 0;
  const cpuBusyUntil = Array.from({ length: s.cpuSlots }, () => 0);
  let state = initialFallback(0);
  let switches = 0;
  let onCpuMs = 0;
  const rtLat: number[] = [];
  const out = { beOffered: 0, beCompleted: 0, beOnCpu: 0, beTimedOut: 0, rtTimedOut: 0 };
  // Poisson arrivals per 1 ms step (probability rate/1000 each step).
  for (let now = 0; now < s.seconds * 1000; now++) {
    const burst = now % (s.burstMs + s.quietMs) < s.burstMs;
    if (rand() < ((burst ? s.rtBurst : s.rtQuiet) * cap) / 1000) gpuQ.push({ at: now, rt: true });
    if (rand() < (s.be * cap) / 1000) {
      out.beOffered++;
      if (on && deviceFor(state, { priority: 'besteffort', device: 'auto' }) === 'cpu') {
        cpuQ.push({ at: now, rt: false });
        out.beOnCpu++;
      } else gpuQ.push({ at: now, rt: false });
    }
    for (const q of [gpuQ, cpuQ])
      for (let i = q.length - 1; i >= 0; i--)
        if (now - q[i]!.at >= s.timeoutMs) {
          if (q[i]!.rt) out.rtTimedOut++;
          else out.beTimedOut++;
          q.splice(i, 1);
        }
    if (gpuBusyUntil <= now && gpuQ.length) {
      const k = gpuQ.findIndex((r) => r.rt);
      const [r] = gpuQ.splice(Math.max(k, 0), 1); // realtime first, else the oldest besteffort
      gpuBusyUntil = now + s.gpuServiceMs;
      if (r!.rt) rtLat.push(now + s.gpuServiceMs - r!.at);
      else out.beCompleted++;
    }
    for (let c = 0; c < s.cpuSlots; c++)
      if (cpuBusyUntil[c]! <= now && cpuQ.length) {
        cpuQ.shift();
        cpuBusyUntil[c] = now + s.cpuServiceMs;
        out.beCompleted++;
      }
    const rtWaiting = gpuQ.filter((r) => r.rt);
    const beWaiting = gpuQ.find((r) => !r.rt);
    const next = fallbackStep(
      state,
      {
        realtimeQueued: rtWaiting.length,
        realtimeOldestWaitMs: rtWaiting.length ? now - rtWaiting[0]!.at : 0,
        besteffortOldestWaitMs: beWaiting ? now - beWaiting.at : 0,
      },
      now,
      SIM_MARKS,
    );
    if (next.onCpu !== state.onCpu) switches++;
    state = next;
    if (state.onCpu) onCpuMs++;
  }
  return {
    ...out,
    rtP99: percentile(rtLat, 99),
    onCpuFraction: on ? onCpuMs / (s.seconds * 1000) : 0,
    switches: on ? switches : 0,
  };
}

export function fallbackScenario(): FallbackSim {
  const off = simulateFallback(false);
  const on = simulateFallback(true);
  return {
    setup: FALLBACK_SETUP,
    config: SIM_MARKS,
    off,
    on,
    met: on.beCompleted > off.beCompleted,
  };
}
