import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { VERDICT_COLOUR, VERDICTS } from '../format.js';

export interface SeriesPoint {
  at: number;
  by_verdict: Record<string, number>;
}

/** Devices by verdict over time, one line per verdict (uPlot draws on a canvas: no inline styles in markup). */
export function SeriesChart({ points, label }: { points: SeriesPoint[]; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const shown = VERDICTS.filter((v) => points.some((p) => (p.by_verdict[v] ?? 0) > 0));
    const data: uPlot.AlignedData = [points.map((p) => p.at), ...shown.map((v) => points.map((p) => p.by_verdict[v] ?? 0))];
    const width = () => Math.max(320, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        // Whole devices only on the y axis.
        axes: [{}, { label: 'devices', incrs: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000] }],
        series: [{}, ...shown.map((v) => ({ label: v, stroke: VERDICT_COLOUR[v] ?? '#000', width: 2, points: { show: points.length < 40 } }))],
        legend: { show: true },
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [points]);
  return <div ref={host} class="chart" role="img" aria-label={label} />;
}
