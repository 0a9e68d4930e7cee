/**
 * The pictures of an evidence frame: the model's view of the frame (decoded and resized
 * exactly as for scoring, so a crop or letterbox shows as the model saw it, then the
 * normalisation undone) as a small JPEG, and its saliency map as a PNG overlay of the same
 * size (a colour scale whose opacity grows with saliency). Both as data: URIs. Made only for
 * frames that enter an evidence ring; sharp does the work on libuv's threads.
 */
import sharp from 'sharp';
import type { Headers } from '../contracts/stream.js';
import type { ModelManifest } from '../model/manifest.js';
import { decodeFrame } from './frame-decoder.js';
import type { Preprocessor } from './preprocess.js';

export interface SaliencyMapInput {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
}

export interface EvidencePictures {
  readonly thumbnail: string;
  readonly overlay?: string;
}

export class EvidenceImages {
  private readonly width: number;
  private readonly height: number;

  /** `size`: the thumbnail's long side in pixels. */
  constructor(
    private readonly pre: Preprocessor,
    private readonly input: ModelManifest['input'],
    size: number,
  ) {
    const [, , h, w] = input.shape;
    const scale = size / Math.max(h, w);
    this.width = Math.max(1, Math.round(w * scale));
    this.height = Math.max(1, Math.round(h * scale));
  }

  async render(message: { readonly value: Uint8Array; readonly headers: Headers }, saliency: SaliencyMapInput | undefined): Promise<EvidencePictures> {
    const tensor = new Float32Array(this.pre.elementsPerFrame);
    await decodeFrame(this.pre, message.value, message.headers, tensor);
    const [, channels, h, w] = this.input.shape;
    const jpeg = await sharp(this.pixels(tensor), { raw: { width: w, height: h, channels: channels as 1 | 3 } })
      .resize(this.width, this.height, { fit: 'fill', kernel: 'lanczos3' })
      .jpeg({ quality: 80 })
      .toBuffer();
    const thumbnail = `data:image/jpeg;base64,${jpeg.toString('base64')}`;
    if (!saliency) return { thumbnail };
    return { thumbnail, overlay: await this.overlay(saliency) };
  }

  /** A saliency map ([0, 1], any size) → an RGBA PNG at the thumbnail's size. */
  async overlay(map: SaliencyMapInput): Promise<string> {
    const rgba = Buffer.alloc(map.height * map.width * 4);
    for (let i = 0; i < map.data.length; i++) {
      const v = Math.min(1, Math.max(0, Number.isFinite(map.data[i]!) ? map.data[i]! : 0));
      const [r, g, b] = heat(v);
      rgba.set([r, g, b, Math.round(255 * (0.15 + 0.6 * v))], i * 4);
    }
    const png = await sharp(rgba, { raw: { width: map.width, height: map.height, channels: 4 } })
      .resize(this.width, this.height, { fit: 'fill', kernel: 'cubic' })
      .png()
      .toBuffer();
    return `data:image/png;base64,${png.toString('base64')}`;
  }

  /** The model input with its normalisation undone: (x·std + mean) / scale, back to 8-bit HWC. */
  private pixels(tensor: Float32Array): Buffer {
    const [, channels, h, w] = this.input.shape;
    const area = h * w;
    const out = Buffer.alloc(area * channels);
    for (let c = 0; c < channels; c++) {
      const std = this.input.std[c]!;
      const mean = this.input.mean[c]!;
      for (let i = 0; i < area; i++) out[i * channels + c] = Math.min(255, Math.max(0, Math.round((tensor[c * area + i]! * std + mean) / this.input.scale)));
    }
    return out;
  }
}

/** A blue → cyan → yellow → red scale for v in [0, 1]. */
function heat(v: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [
    [30, 60, 200],
    [0, 200, 220],
    [250, 230, 40],
    [230, 30, 30],
  ];
  const x = v * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const t = x - i;
  const [a, b] = [stops[i]!, stops[i + 1]!];
  return [0, 1, 2].map((k) => Math.round(a[k]! + t * (b[k]! - a[k]!))) as [number, number, number];
}
