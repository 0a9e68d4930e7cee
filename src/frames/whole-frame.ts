/**
 * One libvips decode for both the model and the input statistics: where the model's resize
 * only cuts or pads a uniformly scaled frame (cover, contain, cover with crop), libvips is
 * asked for the whole scaled frame and the cut or the padding is done here, a plain copy.
 * The model's pixels stay exactly those of libvips' own crop or embed (same shrink-on-load,
 * same resize; test/frames/whole-frame.test.ts compares them), and the whole frame, which
 * still shows every part of the picture, is what the input statistics are measured on
 * (measure-frame.ts), so a frame is entropy-decoded once instead of twice.
 */
import type sharp from 'sharp';
import type { ModelManifest, ResizePolicy } from '../model/manifest.js';
import { reduceSmoothing } from './copy-smoothing.js';
import type { HeaderSize } from './header-size.js';
import { coverCrop } from './pixels.js';
import type { ImageFormat } from './sniff.js';

/** 8-bit interleaved pixels of the whole frame, scaled as the model's decode scaled it. */
export interface WholeFrame {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** The encoded frame's own size, as its header says. */
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** The frame is a JPEG (libjpeg shrinks on load). */
  readonly jpeg: boolean;
  /** The blur the model's decode applied, as a variance in source pixels² (copy-smoothing.ts). */
  readonly smoothing: number;
}

/** What libvips is asked for instead of the model's size, and where the model's pixels lie in it. */
export interface WholePlan {
  readonly format: 'jpeg' | 'png';
  /** sharp's resize: the binding side only (cover, contain), or the torchvision box (crop). */
  readonly resize: { readonly width?: number; readonly height?: number; readonly fit?: 'fill'; readonly fastShrinkOnLoad?: false };
  /** Where the model's W x H is cut from the scaled frame; the padding when negative (contain). */
  readonly place: (width: number, height: number) => { readonly left: number; readonly top: number } | undefined;
}

/**
 * Shrinks this close on the two axes leave which side binds to rounding after JPEG
 * shrink-on-load (libjpeg rounds the loaded size up), where sharp decides it again; such
 * frames keep the model's own resize.
 */
const BINDING_MARGIN = 0.01;

/**
 * The plan for an RGB model's JPEG or PNG frame of frameWidth x frameHeight that the model's
 * resize reduces, or undefined where libvips' own resize must stay (grey models convert
 * before they shrink; fill stretches; nearest and enlarging crops go through resample.ts;
 * near-tied sides; enlarged frames, which tell the statistics nothing more).
 */
export function wholeFramePlan(input: ModelManifest['input'], format: ImageFormat, frameWidth: number, frameHeight: number): WholePlan | undefined {
  const { resize } = input;
  if (input.channels !== 'rgb' || (format !== 'jpeg' && format !== 'png')) return undefined;
  const { width, height } = resize;
  if (resize.mode === 'cover' && resize.crop !== undefined && resize.crop !== 1) return cropPlan(resize, format, frameWidth, frameHeight);
  if (resize.mode === 'fill') return undefined;
  const h = frameWidth / width;
  const v = frameHeight / height;
  if (Math.abs(h - v) <= BINDING_MARGIN * Math.min(h, v)) return undefined;
  // cover scales by the smaller shrink (then cuts), contain by the larger (then pads): sharp's ResolveShrink.
  const byWidth = resize.mode === 'cover' ? h < v : h > v;
  if ((byWidth ? h : v) <= 1) return undefined;
  return {
    format,
    resize: byWidth ? { width } : { height },
    // sharp's CalculateCrop (centre: (in - out + 1) / 2) and CalculateEmbedPosition (centre: (out - in) / 2).
    place: (w, h2) => {
      if (resize.mode === 'cover') return w < width || h2 < height ? undefined : { left: (w - width + 1) >> 1, top: (h2 - height + 1) >> 1 };
      return w > width || h2 > height ? undefined : { left: -((width - w) >> 1), top: -((height - h2) >> 1) };
    },
  };
}

/** cover with crop through libvips (reductions, bilinear or bicubic): the box, then the cut at coverCrop's corner. */
function cropPlan(resize: ResizePolicy, format: 'jpeg' | 'png', frameWidth: number, frameHeight: number): WholePlan | undefined {
  const box = coverCrop(frameWidth, frameHeight, resize.width, resize.height, resize.crop!);
  if (resize.interpolation === 'nearest' || box.width >= frameWidth || box.height >= frameHeight) return undefined;
  return {
    format,
    resize: { width: box.width, height: box.height, fit: 'fill', fastShrinkOnLoad: false },
    place: (w, h) => (w === box.width && h === box.height ? { left: box.left, top: box.top } : undefined),
  };
}

/**
 * The model's width x height out of the whole scaled frame: a cut (left, top ≥ 0) or the
 * frame centred on `background` (negative: contain's padding). Interleaved, like libvips' output.
 */
export function placeModelPixels(whole: WholeFrame, at: { left: number; top: number }, width: number, height: number, background: number): Buffer {
  const c = whole.channels;
  const row = whole.width * c;
  if (at.left >= 0 && at.top >= 0) {
    const out = Buffer.allocUnsafe(width * height * c); // every byte written below
    for (let y = 0; y < height; y++) {
      const from = ((at.top + y) * whole.width + at.left) * c;
      out.set(whole.data.subarray(from, from + width * c), y * width * c);
    }
    return out;
  }
  const out = Buffer.alloc(width * height * c, background);
  const left = -at.left;
  const top = -at.top;
  for (let y = 0; y < whole.height; y++) out.set(whole.data.subarray(y * row, (y + 1) * row), ((top + y) * width + left) * c);
  return out;
}

const KERNELS = { nearest: 'nearest', bilinear: 'linear', bicubic: 'cubic' } as const;

/**
 * libvips' whole scaled frame by the plan (img: the model's pipeline up to its resize), and
 * the model's width x height placed from it as libvips' own crop or embed would.
 */
export async function scaleWhole(img: sharp.Sharp, plan: WholePlan, header: HeaderSize, input: ModelManifest['input']): Promise<{ model: Buffer; whole: WholeFrame }> {
  const { resize } = input;
  const { data, info } = await img.resize({ ...plan.resize, kernel: KERNELS[resize.interpolation] }).raw().toBuffer({ resolveWithObject: true });
  const at = plan.place(info.width, info.height);
  if (!at) throw new Error(`the scaled frame is ${info.width}x${info.height}, which does not hold the model's ${resize.width}x${resize.height}`);
  const jpeg = plan.format === 'jpeg';
  const smoothing = reduceSmoothing({
    shrink: header.height / info.height,
    jpeg,
    fastShrinkOnLoad: plan.resize.fastShrinkOnLoad ?? true,
    kernel: resize.interpolation === 'bicubic' ? 'cubic' : 'linear',
  });
  const whole: WholeFrame = { data, width: info.width, height: info.height, channels: info.channels, sourceWidth: header.width, sourceHeight: header.height, jpeg, smoothing };
  return { model: placeModelPixels(whole, at, resize.width, resize.height, resize.background), whole };
}
