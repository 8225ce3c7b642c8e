// Functions: instances over time, cold starts and their durations, queue
// depth, latency percentiles, batch sizes and the batch cap (AIMD), policy
// and priority classes.
import type { FunctionRow } from '../model.js';
import { timeChart } from './charts.js';
import { card, h, ms, section, table } from './dom.js';
import { functionNames, type View } from './view.js';

const count = (v: number | null) => (v === null ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(1));

export function functionsView(): View {
  const cards = h('div', { class: 'cards' });
  const rows = h('div');
  const tenants = h('div');
  const instances = timeChart('chart-instances', { title: 'Instances', format: count, stepped: true });
  const queued = timeChart('chart-queue', { title: 'Queue depth (requests)', format: count, stepped: true });
  const p95 = timeChart('chart-p95', { title: 'Latency p95 (last minute)', format: (v) => ms(v) });
  const cap = timeChart('chart-cap', { title: 'Batch cap (AIMD)', format: count, stepped: true });
  const colds = timeChart('chart-cold-starts', { title: 'Cold starts (duration)', format: (v) => ms(v), points: true });
  const el = h(
    'div',
    { 'data-testid': 'view-functions' },
    cards,
    section('Functions', rows),
    h('div', { class: 'charts' }, instances.el, colds.el, queued.el, p95.el, cap.el),
    section('Tenants', tenants),
  );
  return {
    el,
    render(s, history) {
      const total = s.functions.reduce((a, f) => a + f.requests, 0);
      cards.replaceChildren(
        card('policy', s.server.policy, 'policy'),
        card('batches running', String(s.server.inFlight)),
        card('slots', s.server.slots === null ? 'per instance' : String(s.server.slots)),
        card('requests served', String(total), 'requests-total'),
      );
      rows.replaceChildren(functionsTable(s.functions));
      tenants.replaceChildren(
        s.server.tenants.length === 0
          ? h('p', { class: 'empty' }, 'no tenant has queued requests')
          : table(
              'tenants',
              ['tenant', 'queued', 'fair deficit'],
              s.server.tenants.map((t) => [t.tenant, t.queued, ms(t.deficitMs)]),
            ),
      );
      const names = functionNames(history);
      const xs = history.map((p) => p.at);
      const per = (pick: (f: NonNullable<(typeof history)[number]['functions'][string]>) => number | null) =>
        names.map((name) => ({
          name,
          values: history.map((p) => (p.functions[name] ? pick(p.functions[name]) : null)),
        }));
      instances.update(
        xs,
        per((f) => f.instances),
      );
      queued.update(
        xs,
        per((f) => f.queued),
      );
      p95.update(
        xs,
        per((f) => f.p95Ms),
      );
      cap.update(
        xs,
        per((f) => f.batchCap),
      );
      colds.update(
        xs,
        names.map((name) => ({
          name,
          values: history.map((p) => {
            const c = p.coldStarts.filter((x) => x.function === name);
            return c.length > 0 ? Math.max(...c.map((x) => x.ms)) : null;
          }),
        })),
      );
    },
  };
}

function batchSizes(f: FunctionRow): HTMLElement {
  const used = f.batchSizes.filter((b) => b.runs > 0);
  if (used.length === 0) return h('span', { class: 'muted' }, '–');
  const most = Math.max(...used.map((b) => b.runs));
  return h(
    'span',
    { class: 'sizes' },
    ...used.map((b) =>
      h(
        'span',
        { class: 'size', title: `${b.runs} runs of up to ${b.le} rows` },
        h('span', { class: 'fill', style: `height:${Math.max(8, (100 * b.runs) / most).toFixed(0)}%` }),
        h('span', { class: 'le' }, Number.isFinite(b.le) ? `≤${b.le}` : 'more'),
      ),
    ),
  );
}

function functionsTable(fns: readonly FunctionRow[]): HTMLElement {
  if (fns.length === 0) return h('p', { class: 'empty' }, 'no functions');
  return table(
    'functions',
    [
      'function',
      'state',
      'instances',
      'queued',
      'running',
      'requests',
      'failed',
      'p50',
      'p95',
      'p99',
      'cold starts',
      'batching',
      'cap',
      'sizes',
      'class',
    ],
    fns.map((f) => [
      h('span', { 'data-function': f.name, title: f.version ? `version ${f.version}` : undefined }, f.name),
      h('span', { class: `state ${f.state.toLowerCase()}`, title: f.reason ?? undefined }, f.state),
      h(
        'span',
        { title: `${f.instances.starting} starting, ${f.instances.ready} ready, ${f.instances.draining} draining` },
        `${f.instances.ready}${f.instances.starting ? ` +${f.instances.starting}` : ''}${f.instances.draining ? ` -${f.instances.draining}` : ''}`,
      ),
      f.queued,
      f.inFlight,
      h('span', { 'data-testid': `requests-${f.name}` }, f.requests),
      f.failures,
      h(
        'span',
        { title: `over the ${f.latencyWindowRequests} requests answered in the last minute` },
        ms(f.latencyMs?.p50),
      ),
      ms(f.latencyMs?.p95),
      ms(f.latencyMs?.p99),
      h(
        'span',
        { title: f.coldStarts.meanMs === null ? undefined : `mean ${ms(f.coldStarts.meanMs)}` },
        f.coldStarts.count === 0 ? '0' : `${f.coldStarts.count} (last ${ms(f.coldStarts.lastMs)})`,
      ),
      f.batching
        ? `≤${f.batching.maxBatchSize} rows, ${ms(f.batching.maxQueueDelayMs)}`
        : h('span', { class: 'muted', title: f.whyNotBatched ?? undefined }, 'off'),
      f.aimdSloMs === null ? String(f.batchCap) : `${f.batchCap} (SLO ${ms(f.aimdSloMs)})`,
      batchSizes(f),
      [f.priority, f.tenant ? `tenant ${f.tenant}` : null].filter(Boolean).join(', ') || '–',
    ]),
  );
}
