/**
 * The evidence pages as plain server-rendered HTML: no script, no external asset (inline
 * CSS, images as data: URIs that the page's Content-Security-Policy alone allows). Every
 * text that comes from a frame or a key (source ids, frame ids, topics, class names, head
 * names) is escaped; images are emitted only when they are data: URIs this agent made.
 */
import type { EvidenceEpisode, EvidenceFrame, EvidenceIndex, EvidenceWindow } from '../contracts/evidence.js';

/** Frames of each episode the index page shows (the episode's own page shows all). */
export const INDEX_FRAMES = 4;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const DATA_IMAGE = /^data:image\/(jpeg|png);base64,[A-Za-z0-9+/]+=*$/;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#1b1f24;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:0}
.muted{color:#5b6470}.ep{background:#fff;border:1px solid #d6dae0;border-radius:6px;padding:10px 12px;margin:12px 0}
.state{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;margin-left:6px}
.open{background:#fde2e1;color:#a4161a}.resolved{background:#dff3e4;color:#1b6e35}.silent,.reset{background:#e8eaed;color:#3c4043}
.frames{display:flex;flex-wrap:wrap;gap:10px;margin-top:8px}
.frame{background:#fafbfc;border:1px solid #e3e6ea;border-radius:4px;padding:6px;width:236px;font-size:12px}
.pics{display:flex;gap:4px;height:96px;margin-bottom:6px}.pic{position:relative;flex:0 0 96px;width:96px;height:96px;overflow:hidden;background:#222;display:flex;align-items:center;justify-content:center}
.pic img{display:block;max-width:96px;max-height:96px}.pic img.overlay{position:absolute;inset:0;margin:auto}
.none{color:#aaa;font-size:11px;text-align:center}
table{border-collapse:collapse;margin-top:4px}td{padding:0 6px 0 0;vertical-align:top}
.fired{color:#a4161a;font-weight:600}.num{font-variant-numeric:tabular-nums}
a{color:#0b57d0}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

const num = (x: number | undefined, digits = 3) => (x === undefined || !Number.isFinite(x) ? '–' : Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(1) : x.toFixed(digits));
const time = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');

function image(uri: string | undefined, cls: string, alt: string): string {
  return uri !== undefined && DATA_IMAGE.test(uri) ? `<img class="${cls}" src="${uri}" alt="${escapeHtml(alt)}">` : '';
}

function windowLine(label: string, w: EvidenceWindow | undefined): string {
  if (!w) return '';
  const stat = w.statistic ? `, by the ${w.statistic === 'p-value-cusum' ? 'p-value CUSUM' : escapeHtml(w.statistic.replace(/-/g, ' '))}` : '';
  return `<div class="num">${label} ${time(w.ts)}: ${w.flagged}/${w.window} frames flagged (${(100 * w.rate).toFixed(1)}% vs p0 ${(100 * w.p0).toFixed(1)}%, p = ${num(w.pValue)})${stat}</div>`;
}

function frameCard(f: EvidenceFrame, full: boolean, typical?: readonly number[]): string {
  const where = [f.topic, f.partition === undefined ? undefined : `partition ${f.partition}`, f.offset === undefined ? undefined : `offset ${f.offset}`].filter((x) => x !== undefined).join(' · ');
  // The index shows one picture per frame (with its overlay when there is one), the episode's page both.
  const plain = `<div class="pic">${image(f.thumbnail, 'frame', 'frame')}</div>`;
  const overlaid = f.overlay
    ? `<div class="pic">${image(f.thumbnail, 'frame', 'frame')}${image(f.overlay, 'overlay', 'saliency')}</div>`
    : full
      ? '<div class="pic"><span class="none">no saliency map</span></div>'
      : '';
  const pics = f.thumbnail ? (full ? plain + overlaid : overlaid || plain) : '<div class="pic"><span class="none">no image</span></div>';
  const heads = Object.entries(f.pValues ?? {})
    .map(([h, p]) => `<tr${h === f.firedBy ? ' class="fired"' : ''}><td>${escapeHtml(h)}</td><td class="num">p ${num(p)}</td></tr>`)
    .join('');
  // Each tap's ratio, and with the calibration's typical values its difference from them.
  const delta = (r: number, i: number) => (typical?.[i] === undefined ? '' : ` <span class="muted">(${r - typical[i]! >= 0 ? '+' : '−'}${Math.abs(r - typical[i]!).toFixed(3)})</span>`);
  const ratios = full && f.layerZeroRatios ? `<div class="num">zero ratio per tap: ${f.layerZeroRatios.map((r, i) => `${r.toFixed(3)}${delta(r, i)}`).join(' · ')}</div>` : '';
  return (
    `<div class="frame" data-frame="${escapeHtml(f.frameId)}"><div class="pics">${pics}</div>` +
    `<div><b>${f.flagged ? 'flagged' : 'not flagged'}</b> · <span class="num">p ${num(f.pValue)}</span>${f.firedBy ? ` · fired: <span class="fired">${escapeHtml(f.firedBy)}</span>` : ''}</div>` +
    `<div>${escapeHtml(f.predictedClass)} <span class="num">(${num(f.confidence, 2)})</span></div>` +
    `<div class="muted" title="${escapeHtml(f.frameId)}">${escapeHtml(where || f.frameId)}</div>` +
    (full ? `<table>${heads}</table>${ratios}<div class="muted">frame ${escapeHtml(f.frameId)}</div>` : '') +
    `</div>`
  );
}

function episodeCard(e: EvidenceEpisode, full: boolean): string {
  const frames = (list: readonly EvidenceFrame[] | undefined, label: string) =>
    list === undefined ? '' : `<div class="muted" style="margin-top:8px">${label} (${list.length})</div><div class="frames">${list.length === 0 ? '<span class="none">no frames kept</span>' : (full ? list : list.slice(0, INDEX_FRAMES)).map((f) => frameCard(f, full, e.typicalZeroRatios)).join('')}</div>`;
  const title = full ? escapeHtml(e.source) : `<a href="/evidence/${e.id}">${escapeHtml(e.source)}</a>`;
  return (
    `<section class="ep" data-episode="${e.id}" data-state="${e.state}"><h2>${title}<span class="state ${e.state}">${e.state}</span></h2>` +
    `<div class="muted">episode ${e.id} · started ${time(e.startedAt)} · <a href="/evidence/${e.id}.json">json</a></div>` +
    windowLine('opened', e.opened) +
    windowLine('ended', e.ended) +
    (full && e.typicalZeroRatios ? `<div class="num">typical zero ratio per tap (median of the calibration frames): ${e.typicalZeroRatios.map((r) => r.toFixed(3)).join(' · ')}; each frame's difference in brackets</div>` : '') +
    frames(e.framesAtStart, 'most anomalous frames when it opened') +
    (full || e.state !== 'open' ? frames(e.framesAtEnd, 'when it ended') : '') +
    `</section>`
  );
}

/** /evidence: open episodes, then recent ones; `source` keeps one source's only (the alert's link). */
export function indexPage(index: EvidenceIndex, source?: string): string {
  const episodes = source === undefined ? index.episodes : index.episodes.filter((e) => e.source === source);
  const open = episodes.filter((e) => e.state === 'open').length;
  const head =
    `<h1>gaia-sentinel evidence · ${escapeHtml(index.model)}</h1>` +
    `<div class="muted">${open} open, ${episodes.length - open} recent episode(s)${source === undefined ? '' : ` of source ${escapeHtml(source)} (<a href="/evidence">all sources</a>)`} · frames kept for ${index.sourcesKept} source(s) · the model's view of each frame, with its saliency where the model has the saliency head</div>`;
  const body = episodes.length === 0 ? '<p>No drift episode yet.</p>' : episodes.map((e) => episodeCard(e, false)).join('');
  return page(`evidence · ${index.model}`, head + body);
}

/** /evidence/<episode>: every frame with all its numbers. */
export function episodePage(model: string, e: EvidenceEpisode): string {
  return page(`evidence · ${e.source}`, `<h1>gaia-sentinel evidence · ${escapeHtml(model)}</h1><div class="muted"><a href="/evidence">all episodes</a></div>${episodeCard(e, true)}`);
}
