/**
 * A static picture of the Grafana dashboard: runs each panel's PromQL (the same queries,
 * from deploy/grafana/gaia-sentinel.json) against Prometheus's query_range API and draws
 * the series as SVG line charts in one HTML page — what on-call would see, without Grafana.
 */
interface Panel {
  readonly title: string;
  readonly type: string;
  readonly targets: ReadonlyArray<{ expr: string; legendFormat?: string }>;
  readonly fieldConfig?: { defaults?: { unit?: string } };
}

interface Series {
  readonly label: string;
  readonly points: Array<[number, number]>;
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function legend(format: string | undefined, metric: Record<string, string>): string {
  if (!format) return Object.entries(metric).map(([k, v]) => `${k}=${v}`).join(', ') || 'value';
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => metric[k] ?? '');
}

async function queryRange(prometheus: string, expr: string, start: number, end: number, step: number): Promise<Array<{ metric: Record<string, string>; values: Array<[number, string]> }>> {
  const url = `${prometheus}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${start}&end=${end}&step=${step}`;
  const body = (await (await fetch(url)).json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
  if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error}`);
  return body.data.result;
}

function chart(title: string, series: Series[], unit: string | undefined): string {
  const w = 560;
  const h = 220;
  const pad = { l: 56, r: 12, t: 28, b: 26 };
  const all = series.flatMap((s) => s.points).filter(([, v]) => Number.isFinite(v));
  const xs = all.map(([t]) => t);
  const ys = all.map(([, v]) => v);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys, 1e-9) * 1.1];
  const px = (t: number) => pad.l + ((t - x0) / Math.max(1e-9, x1 - x0)) * (w - pad.l - pad.r);
  const py = (v: number) => h - pad.b - ((v - y0) / Math.max(1e-9, y1 - y0)) * (h - pad.t - pad.b);
  const fmt = (v: number) => (unit === 'percentunit' ? `${(100 * v).toFixed(0)}%` : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(2));
  const lines = series
    .map((s, i) => {
      const d = s.points.filter(([, v]) => Number.isFinite(v)).map(([t, v], k) => `${k ? 'L' : 'M'}${px(t).toFixed(1)},${py(v).toFixed(1)}`).join('');
      return `<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.8"/>`;
    })
    .join('');
  const legendItems = series
    .slice(0, 6)
    .map((s, i) => `<span style="color:${COLORS[i % COLORS.length]}">&#9632;</span> ${escape(s.label)}`)
    .join(' &nbsp; ');
  const grid = [0, 0.5, 1]
    .map((f) => {
      const v = y0 + f * (y1 - y0);
      return `<line x1="${pad.l}" x2="${w - pad.r}" y1="${py(v)}" y2="${py(v)}" stroke="#333"/><text x="${pad.l - 6}" y="${py(v) + 4}" text-anchor="end">${fmt(v)}</text>`;
    })
    .join('');
  const empty = all.length === 0 ? `<text x="${w / 2}" y="${h / 2}" text-anchor="middle" fill="#888">no data</text>` : '';
  return `<div class="panel"><div class="title">${escape(title)}</div><svg width="${w}" height="${h}" font-size="11" fill="#ccc">${grid}${lines}${empty}</svg><div class="legend">${legendItems}</div></div>`;
}

function escape(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** Renders the dashboard's time-series and stat panels over [now − minutes, now] as HTML. */
export async function renderDashboardSnapshot(dashboard: { title: string; panels: Panel[] }, prometheus: string, minutes: number): Promise<string> {
  const end = Math.floor(Date.now() / 1000);
  const start = end - minutes * 60;
  const step = Math.max(1, Math.floor((end - start) / 120));
  const panels: string[] = [];
  for (const p of dashboard.panels) {
    const series: Series[] = [];
    for (const t of p.targets) {
      // Every model and source: the dashboard's "All" for its variables.
      const expr = t.expr.replaceAll('$source', '.*').replaceAll('$model', '.*').replaceAll('$__rate_interval', `${Math.max(4 * step, 15)}s`);
      for (const r of await queryRange(prometheus, expr, start, end, step)) {
        series.push({ label: legend(p.type === 'heatmap' ? 'le={{le}}' : t.legendFormat, r.metric), points: r.values.map(([ts, v]) => [ts, Number(v)]) });
      }
    }
    panels.push(chart(p.type === 'heatmap' ? `${p.title} (per bucket)` : p.title, series, p.fieldConfig?.defaults?.unit));
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(dashboard.title)}</title><style>
body{background:#111217;color:#ccc;font-family:sans-serif;margin:16px}
h1{font-size:18px;font-weight:500}.grid{display:grid;grid-template-columns:repeat(2,580px);gap:12px}
.panel{background:#181b1f;border:1px solid #2c3235;padding:8px}.title{font-size:13px;margin-bottom:4px}.legend{font-size:11px;margin-top:2px}
</style></head><body><h1>${escape(dashboard.title)} — last ${minutes} min, from ${escape(prometheus)}</h1><div class="grid">${panels.join('')}</div></body></html>`;
}
