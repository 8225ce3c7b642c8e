// The few lines `bench-sched` prints at the end (and keeps in sched.json).
import { f0, f1 } from './numbers.js';
import type { SchedBenchResults } from './results.js';

export function summarize(r: SchedBenchResults): string[] {
  const out = [
    `scheduling benchmark (${r.quick ? 'quick' : 'full'}, ${r.wallSeconds.toFixed(0)} s, ${r.machine.cores} cores, load average ${r.machine.loadAverageBefore.map((x) => x.toFixed(1)).join('/')} before): BERT ${r.model.layers}x${r.model.hidden}, seq ${r.model.seq}, SLO p99 ${r.sloMs} ms`,
  ];
  if (r.batching) {
    const b = r.batching;
    out.push(
      `1. model alone: batching gains at most ${b.compute.gain.toFixed(2)}x per sequence (${Object.entries(
        b.compute.perItemMs,
      )
        .map(([k, v]) => `b${k} ${v.toFixed(2)} ms`)
        .join(', ')})`,
    );
    out.push(
      `1. batching: max sustainable rate, median (best) of ${b.repetitions}: nobatch ${f0(b.maxRate.nobatch!.median)} (${f0(b.maxRate.nobatch!.best)})/s, fixed ${f0(b.maxRate.fixed!.median)} (${f0(b.maxRate.fixed!.best)})/s = ${b.speedup.fixed.toFixed(2)}x (${b.speedup.fixedBest.toFixed(2)}x), aimd ${f0(b.maxRate.aimd!.median)} (${f0(b.maxRate.aimd!.best)})/s = ${b.speedup.aimd.toFixed(2)}x (${b.speedup.aimdBest.toFixed(2)}x); target 3x: ${b.met.median ? 'met' : 'missed'} (median), ${b.met.best ? 'met' : 'missed'} (best)`,
    );
  }
  if (r.priority) {
    const p = r.priority;
    out.push(
      `2. priority: realtime p99 alone ${f1(p.rtP99.alone)} ms; beside besteffort ${f1(p.rtP99.priority)} ms under priority (${p.ratio.priority.toFixed(2)}x), ${f1(p.rtP99.reserve)} ms with a realtime reserve of 1 run (${p.ratio.reserve.toFixed(2)}x), ${f1(p.rtP99.fifo)} ms under fifo (${p.ratio.fifo.toFixed(2)}x); target 1.5x: ${p.met.priority ? 'met' : 'missed'} (priority), ${p.met.reserve ? 'met' : 'missed'} (with reserve)`,
    );
  }
  if (r.isolation) {
    const i = r.isolation;
    out.push(
      `2. isolation (rt and be functions, be instances at SCHED_IDLE: ${i.idleInstances} of ${i.instances}): realtime p99 alone ${f1(i.rtP99.alone)} ms, beside the besteffort overload ${f1(i.rtP99.mixed)} ms (${i.ratio.toFixed(2)}x; target <= ${i.targets.rtRatio}x: ${i.met.rt ? 'met' : 'missed'}), ${f1(i.rtP99.mixedNormalCpu)} ms with be at normal CPU priority (${(i.rtP99.mixedNormalCpu / i.rtP99.alone).toFixed(2)}x); besteffort ${f1(i.beThroughput.mixed)}/s beside realtime vs ${f1(i.beThroughput.alone)}/s alone (${(100 * i.beShare).toFixed(0)}%; target > ${100 * i.targets.beShare}%: ${i.met.be ? 'met' : 'missed'})`,
    );
  }
  if (r.fallback) {
    const f = r.fallback;
    out.push(
      `2. fallback (simulated, stand-in GPU): besteffort completed ${f.on.beCompleted} with fallback vs ${f.off.beCompleted} without (of ${f.on.beOffered}); realtime p99 ${f1(f.on.rtP99)} vs ${f1(f.off.rtP99)} ms; more with fallback: ${f.met ? 'met' : 'missed'}`,
    );
  }
  if (r.fair) {
    const f = r.fair;
    out.push(
      `3. fair: tenant a (offered ${f.rates.a}/s) got ${(100 * f.shareA.fair).toFixed(1)}% under fair, ${(100 * f.shareA.fifo).toFixed(1)}% under fifo (b offered ${f.rates.b}/s); within 10% of equal: ${f.met ? 'met' : 'missed'} (${(100 * f.deviation).toFixed(1)}%)`,
    );
  }
  if (r.srtf) {
    for (const rate of r.srtf.rates) {
      const a = r.srtf.meanMs.fifo![String(rate)]!;
      const b = r.srtf.meanMs.srtf![String(rate)]!;
      const sa = r.srtf.simulatedMeanMs.fifo![String(rate)]!;
      const sb = r.srtf.simulatedMeanMs.srtf![String(rate)]!;
      out.push(
        `4. srtf vs fifo @${rate}/s: mean latency ${f1(b.all)} vs ${f1(a.all)} ms (short ${f1(b.short)} vs ${f1(a.short)}, long ${f1(b.long)} vs ${f1(a.long)}); dispatcher alone: ${f1(sb.all)} vs ${f1(sa.all)} ms`,
      );
    }
  }
  return out;
}
