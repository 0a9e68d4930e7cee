/**
 * The three figures of docs/RESULTS.md "Figures", analogues of the GAIA paper's
 * supplementary figures, drawn from collect()'s scores.
 */
import type { Collected, ScoredSet } from './collect.js';
import { colour, framePng } from './overlay.js';
import { Axes, legend, SET_COLOURS, Svg } from './svg.js';

const HEAD_NAMES: Readonly<Record<string, string>> = {
  gaia_z: 'GAIA-Z',
  gaia_a: 'GAIA-A',
  msp: 'MSP',
  energy: 'Energy',
  mahalanobis: 'Mahalanobis',
  odin: 'ODIN',
  react: 'ReAct',
  gradnorm: 'GradNorm',
  rankfeat: 'RankFeat',
};

function headTitle(data: Collected, head: string): string {
  const sign = data.signs[head];
  return `${HEAD_NAMES[head] ?? head}${sign === undefined ? '' : sign < 0 ? ' (higher = OOD)' : ' (lower = OOD)'}`;
}

/** "16 ×5, 32 ×5, ...": the taps' channel counts, run-length encoded. */
function channelRuns(channels: readonly number[]): string {
  const runs: Array<[number, number]> = [];
  for (const c of channels) {
    const last = runs.at(-1);
    if (last && last[0] === c) last[1]++;
    else runs.push([c, 1]);
  }
  return runs.map(([c, n]) => (n === 1 ? String(c) : `${c} ×${n}`)).join(', ');
}

const setEntries = (data: Collected) => data.sets.map((s, i) => [s.name, SET_COLOURS[i % SET_COLOURS.length]!] as const);

/** Figure 1: the first frames of each set and their saliency overlays, with the prediction and GAIA-Z. */
export async function figure1(data: Collected): Promise<Svg> {
  const tile = 84;
  const perSet = Math.max(...data.sets.map((s) => s.examples.length));
  const cell = 2 * tile + 4 + 18;
  const left = 110;
  const rowH = tile + 44;
  const svg = new Svg(left + perSet * cell + 10, 70 + data.sets.length * rowH + 50);
  svg.text(svg.width / 2, 24, `Figure 1: frames and their saliency (${data.model}; each pair: the frame as the model sees it, then the map over it)`, { size: 15, anchor: 'middle', weight: 'bold' });
  svg.text(svg.width / 2, 44, data.saliencyNote.replace(/^saliency: /, '').replace(/ \(no backward pass\)$/, ''), { size: 11, anchor: 'middle', fill: '#555' });
  for (const [r, set] of data.sets.entries()) {
    const y = 62 + r * rowH;
    svg.text(left - 10, y + tile / 2 + 5, set.name, { size: 14, anchor: 'end', weight: 'bold', fill: SET_COLOURS[r % SET_COLOURS.length]! });
    for (const [c, ex] of set.examples.entries()) {
      const x = left + c * cell;
      svg.image(x, y, tile, tile, await framePng(ex.pixels, ex.size, tile));
      svg.image(x + tile + 4, y, tile, tile, await framePng(ex.pixels, ex.size, tile, { data: ex.saliency, shape: ex.saliencyShape }));
      svg.text(x + tile + 2, y + tile + 15, `${ex.label} ${(100 * ex.confidence).toFixed(0)}%`, { size: 11, anchor: 'middle' });
      svg.text(x + tile + 2, y + tile + 29, `GAIA-Z ${ex.gaiaZ.toFixed(3)}`, { size: 11, anchor: 'middle', fill: '#555' });
    }
  }
  // Colour bar of the map's values.
  const barY = svg.height - 34;
  svg.text(left - 10, barY + 10, 'saliency', { size: 12, anchor: 'end' });
  for (let i = 0; i < 100; i++) {
    const [r, g, b] = colour(i / 99);
    svg.rect(left + i * 3, barY, 3, 12, { fill: `rgb(${r.toFixed(0)},${g.toFixed(0)},${b.toFixed(0)})` });
  }
  svg.text(left, barY + 26, '0', { size: 11, anchor: 'middle' }).text(left + 300, barY + 26, '1 (the frame’s maximum)', { size: 11, anchor: 'middle' });
  return svg;
}

function quantile(sorted: Float32Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

/** Density histogram of `values` over [lo, hi] in `bins` bins (values outside are left out). */
function density(values: Float32Array, lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (const v of values) if (v >= lo && v <= hi) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
  return counts.map((c) => c / (values.length * width));
}

/** Figure 2: each head's score distribution per set, with the calibration's threshold. */
export function figure2(data: Collected): Svg {
  const cols = 3;
  const panelW = 300;
  const panelH = 190;
  const gapX = 80;
  const gapY = 90;
  const rows = Math.ceil(data.heads.length / cols);
  const svg = new Svg(70 + cols * (panelW + gapX), 110 + rows * (panelH + gapY));
  svg.text(svg.width / 2, 26, `Figure 2: each head's scores per frame set (${data.model}; ${data.sets.map((s) => `${s.name} ${s.count}`).join(', ')} frames)`, {
    size: 15,
    anchor: 'middle',
    weight: 'bold',
  });
  svg.text(svg.width / 2, 46, "densities over the central 99% of all frames' scores; dashed: the head's threshold in the calibration (5% of ID calibration frames beyond it)", {
    size: 12,
    anchor: 'middle',
    fill: '#555',
  });
  legend(svg, 70, 72, setEntries(data));
  for (const [i, head] of data.heads.entries()) {
    const x = 70 + (i % cols) * (panelW + gapX);
    const y = 120 + Math.floor(i / cols) * (panelH + gapY);
    const all = Float32Array.from(data.sets.flatMap((s) => Array.from(s.scores[head]!))).sort();
    // The central 99% of all frames: a few extreme frames would squash the rest into one bin.
    const lo = quantile(all, 0.005);
    const hi = quantile(all, 0.995);
    const bins = 40;
    const curves = data.sets.map((s) => density(s.scores[head]!, lo, hi, bins));
    const top = Math.max(...curves.flat()) * 1.08;
    const axes = new Axes(svg, x, y, panelW, panelH, [lo, hi], [0, top]).draw({ title: headTitle(data, head), xLabel: 'score', yLabel: 'density', yTicks: false });
    for (const [k, curve] of curves.entries()) {
      const step: Array<[number, number]> = [[axes.px(lo), axes.py(0)]];
      curve.forEach((d, b) => {
        const x0 = lo + ((hi - lo) * b) / bins;
        const x1 = lo + ((hi - lo) * (b + 1)) / bins;
        step.push([axes.px(x0), axes.py(d)], [axes.px(x1), axes.py(d)]);
      });
      step.push([axes.px(hi), axes.py(0)]);
      svg.polyline(step, SET_COLOURS[k % SET_COLOURS.length]!, 1.6, SET_COLOURS[k % SET_COLOURS.length]!, 0.12);
    }
    const t = data.thresholds[head];
    if (t !== undefined && t >= lo && t <= hi) svg.line(axes.px(t), y, axes.px(t), y + panelH, '#222', 1.5, '5,4');
  }
  return svg;
}

/** Per frame and tap: Σ over the tap's channels of r², over the channel count of every tap (the taps' terms sum to GAIA-Z). */
export function tapTerms(set: ScoredSet, tapChannels: readonly number[]): { contribution: number[][]; ratio: number[][] } {
  const channels = tapChannels.reduce((a, b) => a + b, 0);
  const contribution: number[][] = [];
  const ratio: number[][] = [];
  for (let f = 0; f < set.count; f++) {
    const row = set.ratios.subarray(f * channels, (f + 1) * channels);
    let start = 0;
    const c: number[] = [];
    const r: number[] = [];
    for (const n of tapChannels) {
      let sq = 0;
      let sum = 0;
      for (let k = start; k < start + n; k++) {
        sq += row[k]! * row[k]!;
        sum += row[k]!;
      }
      c.push(sq / channels);
      r.push(sum / n);
      start += n;
    }
    contribution.push(c);
    ratio.push(r);
  }
  return { contribution, ratio };
}

const mean = (rows: number[][], tap: number) => rows.reduce((acc, row) => acc + row[tap]!, 0) / rows.length;

/** Figure 3: each tap's mean contribution to GAIA-Z and its mean non-zero gradient ratio, per set. */
export function figure3(data: Collected): Svg {
  const taps = data.tapChannels.length;
  const panelW = 520;
  const panelH = 250;
  const svg = new Svg(2 * panelW + 200, panelH + 180);
  svg.text(svg.width / 2, 26, `Figure 3: each tap's part in GAIA-Z, per frame set (${data.model}, ${taps} taps in forward order)`, { size: 15, anchor: 'middle', weight: 'bold' });
  svg.text(svg.width / 2, 46, `channels per tap: ${channelRuns(data.tapChannels)}; GAIA-Z = mean over all channels of r², r the fraction of a channel's positions with a non-zero gradient`, {
    size: 12,
    anchor: 'middle',
    fill: '#555',
  });
  legend(svg, 80, 72, setEntries(data));
  const terms = data.sets.map((s) => tapTerms(s, data.tapChannels));
  const panels = [
    { key: 'contribution' as const, title: "tap's term of GAIA-Z (mean; the terms sum to GAIA-Z)", x: 80 },
    { key: 'ratio' as const, title: 'non-zero gradient ratio of the tap (mean over channels)', x: 80 + panelW + 100 },
  ];
  for (const p of panels) {
    const means = terms.map((t) => Array.from({ length: taps }, (_, l) => mean(t[p.key], l)));
    const top = Math.max(...means.flat()) * 1.1;
    const xTicks = Array.from({ length: taps }, (_, l) => [l, String(l)] as const).filter(([l]) => taps <= 12 || l % 2 === 0);
    const axes = new Axes(svg, p.x, 110, panelW, panelH, [-0.5, taps - 0.5], [0, top]).draw({ title: p.title, xLabel: 'tap', xTicks });
    for (const [k, m] of means.entries()) {
      const c = SET_COLOURS[k % SET_COLOURS.length]!;
      svg.polyline(m.map((v, l) => [axes.px(l), axes.py(v)] as [number, number]), c, 2);
      for (const [l, v] of m.entries()) svg.rect(axes.px(l) - 2.5, axes.py(v) - 2.5, 5, 5, { fill: c });
    }
  }
  return svg;
}
