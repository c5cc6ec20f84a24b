// The time histogram above the list: stacked bars per bucket (success, failure, unknown) with uPlot.
import { html, useEffect, useRef } from '/console/vendor/htm-preact.js';
import uPlot from '/console/vendor/uplot.js';

const SERIES = [
  { key: 'success', label: 'Success', color: '#2f7d4f' },
  { key: 'failure', label: 'Failure', color: '#c0392b' },
  { key: 'unknown', label: 'Unknown', color: '#8a8f98' },
];

export function Histogram({ data, local }) {
  const box = useRef(null);
  useEffect(() => {
    if (!data || !box.current || data.buckets.length === 0) return undefined;
    const xs = data.buckets.map((b) => Date.parse(b.start) / 1000);
    // Stacked: each series is drawn as the sum of itself and those after it.
    const stacked = SERIES.map((_, i) => data.buckets.map((b) => SERIES.slice(i).reduce((n, s) => n + b[s.key], 0)));
    const bars = uPlot.paths.bars({ size: [0.8, 40] });
    const plot = new uPlot(
      {
        width: box.current.clientWidth || 800,
        height: 140,
        tzDate: local ? (ts) => new Date(ts * 1000) : (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{}, { size: 40 }],
        series: [{}, ...SERIES.map((s) => ({ label: s.label, stroke: s.color, fill: s.color, paths: bars, points: { show: false } }))],
      },
      [xs, ...stacked],
      box.current,
    );
    const resize = () => plot.setSize({ width: box.current.clientWidth, height: 140 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [data, local]);
  if (!data) return html`<div class="histogram placeholder" aria-hidden="true"></div>`;
  const interval = data.interval_seconds >= 86_400 ? `${data.interval_seconds / 86_400} d` : data.interval_seconds >= 3600 ? `${data.interval_seconds / 3600} h` : `${data.interval_seconds / 60} min`;
  return html`<figure class="histogram">
    <div ref=${box} role="img" aria-label=${`Events over time: ${data.total} in total`}></div>
    <figcaption>${data.total} events${data.buckets.length ? ` · one bar per ${interval}` : ''}</figcaption>
  </figure>`;
}
