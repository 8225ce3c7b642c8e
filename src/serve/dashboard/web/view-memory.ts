// Memory: per instance, shared vs private pages (smaps), the memory guard's
// budget, and the bytes that sharing saves over time.
import { timeChart } from './charts.js';
import { bar, bytes, card, h, section, table } from './dom.js';
import type { View } from './view.js';

export function memoryView(): View {
  const cards = h('div', { class: 'cards' });
  const saved = timeChart('chart-saved', { title: 'Bytes saved by sharing', format: (v) => bytes(v) });
  const instances = h('div');
  const el = h(
    'div',
    { 'data-testid': 'view-memory' },
    cards,
    section(
      'Instances',
      h(
        'p',
        { class: 'hint' },
        'Resident pages from /proc/<pid>/smaps_rollup: shared (mapped by other processes too: the store’s weights) and private.',
      ),
      instances,
    ),
    h('div', { class: 'charts' }, saved.el),
  );
  return {
    el,
    render(s, history) {
      const m = s.memory;
      const shared = m.instances.reduce((a, i) => a + (i.sharedBytes ?? 0), 0);
      const priv = m.instances.reduce((a, i) => a + (i.privateBytes ?? 0), 0);
      cards.replaceChildren(
        card(
          'saved by sharing',
          bytes(m.savedBySharingBytes),
          'memory-saved',
          'what private copies of the models the instances map would take, less what the store holds',
        ),
        card('instances', String(m.instances.length), 'memory-instances'),
        card('shared / private', `${bytes(shared)} / ${bytes(priv)}`),
        card(
          'private budget',
          `${bytes(m.reservedBytes)} / ${bytes(m.budgetBytes)}`,
          undefined,
          'reserved by live instances / what instances may hold privately',
        ),
      );
      saved.update(
        history.map((p) => p.at),
        [{ name: 'saved', values: history.map((p) => p.savedBySharingBytes) }],
      );
      const most = Math.max(1, ...m.instances.map((i) => i.rssBytes ?? 0));
      instances.replaceChildren(
        m.instances.length === 0
          ? h('p', { class: 'empty' }, 'no instance is running (functions scale to zero when idle)')
          : table(
              'memory-table',
              ['function', 'instance', 'pid', 'state', 'running', 'RSS', 'shared', 'private', 'PSS', ''],
              m.instances.map((i) => [
                i.function,
                i.id,
                i.pid ?? '–',
                i.state,
                i.inflight,
                bytes(i.rssBytes),
                bytes(i.sharedBytes),
                bytes(i.privateBytes),
                bytes(i.pssBytes),
                bar(
                  [
                    { value: i.sharedBytes ?? 0, cls: 'shared', title: `shared ${bytes(i.sharedBytes)}` },
                    { value: i.privateBytes ?? 0, cls: 'private', title: `private ${bytes(i.privateBytes)}` },
                  ],
                  most,
                ),
              ]),
            ),
      );
    },
  };
}
