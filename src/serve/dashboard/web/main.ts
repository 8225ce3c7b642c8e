// The dashboard page: one EventSource on /dashboard/api/events (a `hello`
// with the server's history, then a `tick` a second), four views chosen by
// the URL's hash, the current one rendered on every tick.
import type { DashboardEvent, DashboardSnapshot, HistoryPoint } from '../model.js';
import { h } from './dom.js';
import { functionsView } from './view-functions.js';
import { gpusView } from './view-gpus.js';
import { memoryView } from './view-memory.js';
import { storeView } from './view-store.js';
import type { View } from './view.js';
import './style.css';

const MAX_POINTS = 600;
const views: Record<string, View> = {
  store: storeView(),
  functions: functionsView(),
  memory: memoryView(),
  gpus: gpusView(),
};
const main = document.getElementById('view')!;
const status = document.getElementById('status')!;
const server = document.getElementById('server')!;
let history: HistoryPoint[] = [];
let latest: DashboardSnapshot | undefined;

const current = (): string => {
  const name = location.hash.replace(/^#/, '');
  return name in views ? name : 'store';
};

function render(): void {
  const name = current();
  const view = views[name]!;
  if (main.firstChild !== view.el) main.replaceChildren(view.el);
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a'))
    a.classList.toggle('active', a.dataset.view === name);
  if (!latest) return;
  view.render(latest, history);
  const s = latest.server;
  server.replaceChildren(
    h('span', {}, `gateway ${s.httpUrl}`),
    ...(s.grpcAddress ? [h('span', {}, `gRPC ${s.grpcAddress}`)] : []),
    h('span', {}, `daemon ${s.daemon}`),
    h(
      'span',
      { 'data-testid': 'updated', 'data-at': latest.at },
      `updated ${new Date(latest.at).toLocaleTimeString()}`,
    ),
  );
  document.body.dataset.ready = 'true';
}

function connect(): void {
  const events = new EventSource('/dashboard/api/events');
  const on = (raw: MessageEvent<string>) => {
    const e = JSON.parse(raw.data) as DashboardEvent;
    if (e.type === 'hello') history = e.history;
    else history = [...history.slice(-(MAX_POINTS - 1)), e.point];
    latest = e.snapshot;
    status.textContent = 'live';
    status.className = 'status live';
    render();
  };
  events.addEventListener('hello', on);
  events.addEventListener('tick', on);
  events.onerror = () => {
    status.textContent = events.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting';
    status.className = 'status down';
  };
}

window.addEventListener('hashchange', render);
window.addEventListener('resize', render);
render();
connect();
