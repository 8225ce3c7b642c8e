// Time-series charts over uPlot: a chart keeps its canvas across ticks and
// takes new data with setData; it is rebuilt only when its series change
// (a function appears or goes away) or its width does.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.js';

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

export interface ChartSpec {
  title: string;
  /** Formats an axis tick / legend value. */
  format: (v: number | null) => string;
  /** Draw points only (events such as cold starts), no lines. */
  points?: boolean;
  /** Steps between points (counts such as instances). */
  stepped?: boolean;
}

export interface TimeChart {
  el: HTMLElement;
  /** xs: ms since the epoch; one row of values per series. */
  update(xs: number[], series: { name: string; values: (number | null)[] }[]): void;
}

export function timeChart(testid: string, spec: ChartSpec): TimeChart {
  const el = h('div', { class: 'chart', 'data-testid': testid });
  let plot: uPlot | undefined;
  let key = '';
  return {
    el,
    update(xs, series) {
      const width = Math.max(320, el.clientWidth || 480);
      const k = `${series.map((s) => s.name).join('\u0000')}|${width}`;
      const data = [xs.map((x) => x / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData;
      if (plot && k === key) {
        plot.setData(data);
        return;
      }
      plot?.destroy();
      key = k;
      plot = new uPlot(
        {
          title: spec.title,
          width,
          height: 200,
          scales: { x: { time: true } },
          axes: [{}, { values: (_u, ticks) => ticks.map((t) => spec.format(t)), size: 70 }],
          series: [
            {},
            ...series.map((s, i) => ({
              label: s.name,
              stroke: COLOURS[i % COLOURS.length],
              width: 2,
              value: (_u: uPlot, v: number | null) => spec.format(v),
              ...(spec.points
                ? { paths: () => null, points: { show: true, size: 8, fill: COLOURS[i % COLOURS.length] } }
                : spec.stepped
                  ? { paths: uPlot.paths.stepped?.({ align: 1 }) }
                  : {}),
            })),
          ],
        },
        data,
        el,
      );
    },
  };
}
