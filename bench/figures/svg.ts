/**
 * A few SVG drawing helpers for the documentation figures (no chart library: the figures
 * are small, and an SVG string renders to PNG with sharp, which the project already has).
 */
import sharp from 'sharp';

/** One colour per frame set, ID first (Okabe–Ito: distinguishable with colour-blindness). */
export const SET_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface TextStyle {
  readonly size?: number;
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly weight?: 'normal' | 'bold';
  readonly fill?: string;
  readonly rotate?: number;
}

export class Svg {
  private readonly parts: string[] = [];

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rect(0, 0, width, height, { fill: '#ffffff' });
  }

  text(x: number, y: number, s: string, o: TextStyle = {}): this {
    const rotate = o.rotate ? ` transform="rotate(${o.rotate} ${x} ${y})"` : '';
    this.parts.push(
      `<text x="${x}" y="${y}" font-family="DejaVu Sans, sans-serif" font-size="${o.size ?? 13}" text-anchor="${o.anchor ?? 'start'}" font-weight="${o.weight ?? 'normal'}" fill="${o.fill ?? '#222'}"${rotate}>${escape(s)}</text>`,
    );
    return this;
  }

  line(x1: number, y1: number, x2: number, y2: number, stroke = '#444', width = 1, dash?: string): this {
    this.parts.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${stroke}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    return this;
  }

  rect(x: number, y: number, w: number, h: number, o: { fill?: string; stroke?: string; opacity?: number } = {}): this {
    this.parts.push(
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${o.fill ?? 'none'}"${o.stroke ? ` stroke="${o.stroke}"` : ''}${o.opacity === undefined ? '' : ` fill-opacity="${o.opacity}"`}/>`,
    );
    return this;
  }

  polyline(points: ReadonlyArray<readonly [number, number]>, stroke: string, width = 2, fill = 'none', fillOpacity = 0): this {
    const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
    this.parts.push(`<polyline points="${d}" fill="${fill}" fill-opacity="${fillOpacity}" stroke="${stroke}" stroke-width="${width}" stroke-linejoin="round"/>`);
    return this;
  }

  image(x: number, y: number, w: number, h: number, png: Buffer): this {
    this.parts.push(`<image x="${x}" y="${y}" width="${w}" height="${h}" href="data:image/png;base64,${png.toString('base64')}"/>`);
    return this;
  }

  toString(): string {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}">${this.parts.join('')}</svg>`;
  }

  /** Renders to a PNG file at 1.5× for legibility on high-density screens. */
  async writePng(file: string): Promise<void> {
    await sharp(Buffer.from(this.toString()), { density: 108 }).png({ compressionLevel: 9, palette: true, quality: 95, effort: 10 }).toFile(file);
  }
}

/** About `n` round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / n;
  const step = [1, 2, 2.5, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw))).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

export const formatTick = (t: number) => (Math.abs(t) >= 1e4 || (Math.abs(t) < 1e-3 && t !== 0) ? t.toExponential(0) : String(Number(t.toPrecision(4))));

/** A plot area with x and y axes, tick labels and titles; maps data to pixels. */
export class Axes {
  constructor(
    private readonly svg: Svg,
    readonly x: number,
    readonly y: number,
    readonly w: number,
    readonly h: number,
    readonly xRange: readonly [number, number],
    readonly yRange: readonly [number, number],
  ) {}

  px(v: number): number {
    const [lo, hi] = this.xRange;
    return this.x + ((v - lo) / (hi - lo || 1)) * this.w;
  }

  py(v: number): number {
    const [lo, hi] = this.yRange;
    return this.y + this.h - ((v - lo) / (hi - lo || 1)) * this.h;
  }

  draw(o: { title?: string; xLabel?: string; yLabel?: string; xTicks?: ReadonlyArray<readonly [number, string]>; yTicks?: boolean }): this {
    const s = this.svg;
    s.rect(this.x, this.y, this.w, this.h, { stroke: '#888' });
    const xt = o.xTicks ?? ticks(this.xRange[0], this.xRange[1], 4).map((t) => [t, formatTick(t)] as const);
    for (const [t, label] of xt) {
      s.line(this.px(t), this.y + this.h, this.px(t), this.y + this.h + 4, '#888');
      s.text(this.px(t), this.y + this.h + 17, label, { size: 11, anchor: 'middle' });
    }
    if (o.yTicks !== false) {
      for (const t of ticks(this.yRange[0], this.yRange[1], 4)) {
        s.line(this.x - 4, this.py(t), this.x, this.py(t), '#888');
        s.text(this.x - 6, this.py(t) + 4, formatTick(t), { size: 11, anchor: 'end' });
      }
    }
    if (o.title) s.text(this.x + this.w / 2, this.y - 8, o.title, { size: 14, anchor: 'middle', weight: 'bold' });
    if (o.xLabel) s.text(this.x + this.w / 2, this.y + this.h + 34, o.xLabel, { size: 12, anchor: 'middle' });
    if (o.yLabel) s.text(this.x - 44, this.y + this.h / 2, o.yLabel, { size: 12, anchor: 'middle', rotate: -90 });
    return this;
  }
}

/** A legend row: a colour swatch and a name per entry. */
export function legend(svg: Svg, x: number, y: number, entries: ReadonlyArray<readonly [string, string]>): void {
  let at = x;
  for (const [name, colour] of entries) {
    svg.rect(at, y - 10, 14, 12, { fill: colour });
    svg.text(at + 19, y, name, { size: 13 });
    at += 30 + name.length * 7.5;
  }
}
