// GPUs: devices of the daemon's GPU tier, their memory, resident models and
// lanes (when the daemon reports them); "no GPU" without a tier.
import { bar, bytes, card, h, section, table } from './dom.js';
import type { View } from './view.js';

export function gpusView(): View {
  const body = h('div');
  return {
    el: h('div', { 'data-testid': 'view-gpus' }, body),
    render(s) {
      const g = s.gpus;
      if (!g || g.devices.length === 0) {
        body.replaceChildren(
          h(
            'div',
            { class: 'no-gpu', 'data-testid': 'no-gpu' },
            h('strong', {}, 'no GPU'),
            h('p', {}, 'The daemon runs no GPU tier here: models are served from host memory only.'),
          ),
        );
        return;
      }
      body.replaceChildren(
        ...g.devices.map((d) =>
          section(
            `GPU ${d.index}${d.name ? `: ${d.name}` : ''}`,
            h(
              'div',
              { class: 'cards' },
              card('state', d.state),
              card('memory used', d.usedBytes === null ? '–' : `${bytes(d.usedBytes)} / ${bytes(d.totalBytes)}`),
              card('budget', bytes(d.budgetBytes)),
              card('utilization', d.utilization === null ? '–' : `${d.utilization}%`),
              card('queue', String(d.queueDepth)),
              card('restarts', String(d.restarts)),
            ),
            bar(
              [{ value: d.models.reduce((a, m) => a + m.bytes, 0), cls: 'shared', title: 'resident models' }],
              d.totalBytes ?? d.budgetBytes,
            ),
            d.models.length === 0
              ? h('p', { class: 'empty' }, 'no resident model')
              : table(
                  `gpu-${d.index}-models`,
                  ['model', 'bytes', 'clients', 'pinned'],
                  d.models.map((m) => [m.model, bytes(m.bytes), m.clients, m.pinned ? 'yes' : 'no']),
                ),
            d.lanes ? h('pre', { class: 'lanes' }, JSON.stringify(d.lanes, null, 2)) : null,
          ),
        ),
      );
    },
  };
}
