// Small DOM and formatting helpers: elements from plain data, bytes and times for people.

type Child = Node | string | number | null | undefined | false;

/** An element with attributes (`class`, `data-*`, `title`, `style`) and children. */
export function h(
  tag: string,
  attrs: Record<string, string | number | undefined> = {},
  ...children: Child[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, String(v));
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** A table from a header row and body rows; `testid` names it for tests. */
export function table(testid: string, head: string[], rows: Child[][]): HTMLElement {
  return h(
    'table',
    { 'data-testid': testid },
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

/** A labelled number. */
export function card(label: string, value: string, testid?: string, hint?: string): HTMLElement {
  return h(
    'div',
    { class: 'card', 'data-testid': testid, title: hint },
    h('div', { class: 'value' }, value),
    h('div', { class: 'label' }, label),
  );
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', {}, h('h2', {}, title), ...children);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${UNITS[u]}`;
}

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : n >= 10 ? `${n.toFixed(0)} ms` : `${n.toFixed(1)} ms`;
}

/** A horizontal bar of parts (class names colour them), `total` wide. */
export function bar(parts: { value: number; cls: string; title: string }[], total: number): HTMLElement {
  const t = Math.max(total, 1);
  return h(
    'div',
    { class: 'bar' },
    ...parts.map((p) =>
      h('span', { class: p.cls, title: p.title, style: `width:${((100 * p.value) / t).toFixed(2)}%` }),
    ),
  );
}
