// The samples of a Prometheus text exposition (version 0.0.4), as the
// gateway's /metrics writes them with prom-client: `name{label="value",...} number`.
// Comments (# HELP, # TYPE) are skipped; label values unescape \\, \" and \n.
// prom-client only writes this format and the parser packages on npm are
// unmaintained, so `top` reads it with these few lines.
import { TensorshareError } from '../errors.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m)
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `metrics line ${i + 1} is not a sample: ${line.slice(0, 200)}`,
      );
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const start = LABEL.lastIndex;
      const l = LABEL.exec(body);
      if (!l || LABEL.lastIndex === start)
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `metrics line ${i + 1} has malformed labels: ${body.slice(0, 200)}`,
        );
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/** Sum of the samples named `name`, grouped by the value of `label`. */
export function sumBy(samples: Sample[], name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples)
    if (s.name === name) {
      const key = s.labels[label] ?? '';
      out.set(key, (out.get(key) ?? 0) + s.value);
    }
  return out;
}
