/** Evaluation reports: Markdown tables and an SVG of the ROC curves (one panel per OOD set). */
import type { Evaluation } from '../detect/evaluation.js';

const pct = (v: number) => `${(100 * v).toFixed(2)}`;
export const LABELS: Record<string, string> = {
  gaia_z: 'GAIA-Z',
  gaia_a: 'GAIA-A',
  msp: 'MSP',
  energy: 'Energy',
  odin: 'ODIN',
  react: 'ReAct',
  gradnorm: 'GradNorm',
  rankfeat: 'RankFeat',
  mahalanobis: 'Mahalanobis',
  gaia_a_q1: 'GAIA-A (fusion, q = 1)',
  gaia_a_q2: 'GAIA-A (fusion, q = 2)',
  gaia_a_inner: 'GAIA-A (w/o fusion, inner only)',
  gaia_a_output: 'GAIA-A (w/o fusion, output only)',
  gaia_a_direct: 'GAIA-A (fusion direct from Eq. 10)',
  gaia_a_top1: 'GAIA-A (w/o fusion, top-1 label)',
  knn: 'KNN',
  fdbd: 'fDBD',
  vim: 'ViM',
  gen: 'GEN',
  scale: 'SCALE',
  layer_mahalanobis: 'Layer Mahalanobis',
  verdict: 'verdict rule',
};
const COLORS: Record<string, string> = {
  gaia_z: '#d62728',
  gaia_a: '#ff7f0e',
  msp: '#1f77b4',
  energy: '#2ca02c',
  odin: '#9467bd',
  react: '#8c564b',
  gradnorm: '#e377c2',
  rankfeat: '#7f7f7f',
  mahalanobis: '#bcbd22',
  knn: '#17becf',
  fdbd: '#393b79',
  vim: '#637939',
  gen: '#8c6d31',
  scale: '#843c39',
  layer_mahalanobis: '#e7969c',
};

export function markdownTable(ev: Evaluation): string {
  const header = `| method | ${ev.oodSets.map((s) => `${s} FPR95 ↓ | ${s} AUROC ↑`).join(' | ')} | average FPR95 ↓ | average AUROC ↑ |`;
  const rule = `|---|${ev.oodSets.map(() => '---:|---:').join('|')}|---:|---:|`;
  const rows = ev.heads.map((h) => {
    const cells = ev.oodSets.map((s) => `${pct(ev.results[h]![s]!.fpr95)} | ${pct(ev.results[h]![s]!.auroc)}`);
    return `| ${LABELS[h] ?? h} | ${cells.join(' | ')} | ${pct(ev.average[h]!.fpr95)} | ${pct(ev.average[h]!.auroc)} |`;
  });
  return [header, rule, ...rows].join('\n');
}

export function rocSvg(title: string, curves: Record<string, Record<string, Array<[number, number]>>>, ev: Evaluation): string {
  const panel = 260;
  const pad = 48;
  const cols = Math.min(3, ev.oodSets.length);
  const rowsN = Math.ceil(ev.oodSets.length / cols);
  const width = cols * (panel + pad) + pad;
  const height = rowsN * (panel + pad + 24) + pad + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad}" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  ev.oodSets.forEach((set, k) => {
    const x0 = pad + (k % cols) * (panel + pad);
    const y0 = 48 + Math.floor(k / cols) * (panel + pad + 24);
    const px = (f: number) => x0 + f * panel;
    const py = (t: number) => y0 + panel - t * panel;
    parts.push(`<text x="${x0}" y="${y0 - 6}" font-size="12" font-weight="bold">ID vs ${escape(set)}</text>`);
    parts.push(`<rect x="${x0}" y="${y0}" width="${panel}" height="${panel}" fill="none" stroke="#444"/>`);
    for (const g of [0.25, 0.5, 0.75]) {
      parts.push(`<line x1="${px(g)}" y1="${y0}" x2="${px(g)}" y2="${y0 + panel}" stroke="#eee"/><line x1="${x0}" y1="${py(g)}" x2="${x0 + panel}" y2="${py(g)}" stroke="#eee"/>`);
    }
    parts.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#bbb" stroke-dasharray="4 3"/>`);
    parts.push(`<line x1="${x0}" y1="${py(0.95)}" x2="${x0 + panel}" y2="${py(0.95)}" stroke="#999" stroke-dasharray="1 2"/>`);
    parts.push(`<text x="${x0 + panel / 2}" y="${y0 + panel + 28}" text-anchor="middle">FPR: OOD frames accepted as ID</text>`);
    parts.push(`<text x="${x0 - 30}" y="${y0 + panel / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 30} ${y0 + panel / 2})">TPR: ID frames accepted</text>`);
    for (const t of [0, 0.5, 1]) {
      parts.push(`<text x="${px(t)}" y="${y0 + panel + 13}" text-anchor="middle">${t}</text><text x="${x0 - 4}" y="${py(t) + 4}" text-anchor="end">${t}</text>`);
    }
    ev.heads.forEach((h, i) => {
      const pts = curves[set]![h]!.map(([f, t]) => `${px(f).toFixed(1)},${py(t).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${COLORS[h] ?? '#000'}" stroke-width="${h === 'gaia_z' ? 2.2 : 1.4}"/>`);
      const r = ev.results[h]![set]!;
      const ly = y0 + panel - 12 - (ev.heads.length - 1 - i) * 14;
      parts.push(`<rect x="${x0 + panel - 150}" y="${ly - 8}" width="10" height="3" fill="${COLORS[h] ?? '#000'}"/>`);
      parts.push(`<text x="${x0 + panel - 136}" y="${ly - 3}">${LABELS[h] ?? h} AUROC ${pct(r.auroc)}%</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function escape(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
