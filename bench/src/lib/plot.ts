/**
 * Charts of bench figures as PNG: a Vega-Lite spec per panel, rendered to SVG headless by Vega
 * (no browser, no canvas) and rasterised by resvg. Libraries rather than hand-drawn SVG: axes,
 * log scales, ticks and legends are what they get right and a hand-written plotter gets wrong.
 */
import { writeFile } from 'node:fs/promises';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
}

export interface Panel {
  title: string;
  /** The y axis' title, with its unit. */
  y: string;
  logY?: boolean;
  series: Series[];
}

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';

/** One row of panels sharing the x axis (`x`, log scale), each series a coloured line with points. */
export function panelsSpec(x: string, panels: readonly Panel[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 12,
    config: { font: FONT, view: { stroke: '#ccc' }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { orient: 'bottom', columns: 1, labelFontSize: 11, labelLimit: 480 } },
    hconcat: panels.map((panel) => ({
      title: { text: panel.title, fontSize: 13 },
      width: 300,
      height: 240,
      data: { values: panel.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y) && p.y > 0).map((p) => ({ x: p.x, y: p.y, series: s.name }))) },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: x, scale: { type: 'log' }, axis: { format: '~s' } },
        y: { field: 'y', type: 'quantitative', title: panel.y, scale: panel.logY ? { type: 'log' } : { zero: true } },
        color: { field: 'series', type: 'nominal', title: null },
      },
    })),
    resolve: { scale: { color: 'independent' } },
  };
}

/** The spec as SVG text, rendered headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes the panels as a PNG (twice the SVG's size, for a sharp image) to `file`. */
export async function writePanelsPng(file: string, x: string, panels: readonly Panel[]): Promise<void> {
  const svg = await renderSvg(panelsSpec(x, panels));
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  await writeFile(file, png);
}
