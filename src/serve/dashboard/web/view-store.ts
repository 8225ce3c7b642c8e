// The store: models and versions, logical vs physical bytes, residency per
// tier, the sharing matrix, budget and evictions over time.
import type { StoreView } from '../model.js';
import { timeChart } from './charts.js';
import { bytes, card, h, section, table } from './dom.js';
import type { View } from './view.js';

export function storeView(): View {
  const cards = h('div', { class: 'cards' });
  const budget = timeChart('chart-store-budget', { title: 'Store bytes and budget', format: (v) => bytes(v) });
  const evictions = timeChart('chart-evictions', {
    title: 'Evictions (total)',
    format: (v) => (v === null ? '–' : String(v)),
    stepped: true,
  });
  const models = h('div');
  const matrix = h('div', { class: 'matrix-wrap' });
  const el = h(
    'div',
    { 'data-testid': 'view-store' },
    cards,
    h('div', { class: 'charts' }, budget.el, evictions.el),
    section('Models and versions', models),
    section(
      'Shared tensors between model versions',
      h(
        'p',
        { class: 'hint' },
        'Bytes of identical files (graph, tensors) each pair holds once; fine-tuned variants of one base share most of theirs.',
      ),
      matrix,
    ),
  );
  return {
    el,
    render(s, history) {
      const st = s.store;
      cards.replaceChildren(
        card('logical (separate copies)', bytes(st.logicalBytes), 'store-logical'),
        card('physical (deduplicated)', bytes(st.physicalBytes), 'store-physical'),
        card('resident in the store', bytes(st.residentBytes), 'store-resident'),
        card('dedup', st.physicalBytes > 0 ? `${(st.logicalBytes / st.physicalBytes).toFixed(2)}x` : '–'),
        card(
          'budget used',
          st.budget ? `${bytes(st.budget.usedBytes)} / ${bytes(st.budget.budgetBytes)}` : 'no daemon',
        ),
        card(
          'evictions',
          st.budget ? `${st.budget.evictions} (${bytes(st.budget.evictedBytes)})` : '–',
          'store-evictions',
        ),
      );
      const xs = history.map((p) => p.at);
      budget.update(xs, [
        { name: 'used', values: history.map((p) => p.storeUsedBytes) },
        { name: 'budget', values: history.map((p) => p.storeBudgetBytes) },
      ]);
      evictions.update(xs, [{ name: 'evictions', values: history.map((p) => p.evictions) }]);
      models.replaceChildren(modelsTable(st));
      matrix.replaceChildren(sharingMatrix(st));
    },
  };
}

function tiers(t: StoreView['models'][number]['tiers']): HTMLElement {
  return h(
    'span',
    { class: 'tiers' },
    h('span', { class: `tier ${t.disk ? 'on' : 'off'}`, title: 'in the repository on disk' }, 'disk'),
    h('span', { class: `tier ${t.host ? 'on' : 'off'}`, title: 'resident in the store (host memory)' }, 'host'),
    t.gpus.length > 0
      ? h('span', { class: 'tier on gpu', title: 'resident on GPUs' }, `GPU ${t.gpus.join(',')}`)
      : h('span', { class: 'tier off' }, 'GPU'),
  );
}

function modelsTable(st: StoreView): HTMLElement {
  if (st.models.length === 0) return h('p', { class: 'empty' }, 'no models in the repository');
  return table(
    'store-models',
    ['model', 'tensors', 'logical', 'shared', 'exclusive', 'residency', 'leases'],
    st.models.map((m) => [
      h('span', { 'data-model': m.ref }, m.ref),
      m.tensors,
      bytes(m.logicalBytes),
      bytes(m.sharedBytes),
      bytes(m.exclusiveBytes),
      tiers(m.tiers),
      m.leases,
    ]),
  );
}

function sharingMatrix(st: StoreView): HTMLElement {
  const { refs, bytes: b } = st.sharing;
  if (refs.length === 0) return h('p', { class: 'empty' }, 'no models');
  const rows = refs.map((r, i) =>
    h(
      'tr',
      {},
      h('th', { class: 'row' }, r),
      ...refs.map((c, j) => {
        const shared = b[i]![j]!;
        const smaller = Math.min(b[i]![i]!, b[j]![j]!);
        const f = smaller > 0 ? shared / smaller : 0;
        return h(
          'td',
          {
            class: i === j ? 'self' : shared > 0 ? 'shared' : 'none',
            style: i === j ? undefined : `background: rgba(37, 99, 235, ${(0.08 + 0.85 * f).toFixed(2)})`,
            title:
              i === j
                ? `${r}: ${bytes(shared)}`
                : `${r} and ${c} share ${bytes(shared)} (${(100 * f).toFixed(0)}% of the smaller)`,
          },
          i === j ? bytes(shared) : shared > 0 ? `${(100 * f).toFixed(0)}%` : '',
        );
      }),
    ),
  );
  return h(
    'table',
    { class: 'matrix', 'data-testid': 'sharing-matrix' },
    h('thead', {}, h('tr', {}, h('th', {}), ...refs.map((r) => h('th', { class: 'col' }, h('span', {}, r))))),
    h('tbody', {}, ...rows),
  );
}
