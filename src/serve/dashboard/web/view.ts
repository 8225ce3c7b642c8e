import type { DashboardSnapshot, HistoryPoint } from '../model.js';

/** One page of the dashboard: built once, rendered again on every tick. */
export interface View {
  el: HTMLElement;
  render(snapshot: DashboardSnapshot, history: readonly HistoryPoint[]): void;
}

/** Function names seen anywhere in the history, in order of appearance. */
export function functionNames(history: readonly HistoryPoint[]): string[] {
  const names = new Set<string>();
  for (const p of history) for (const n of Object.keys(p.functions)) names.add(n);
  return [...names];
}
