/**
 * Frame bytes → model input, with sharp, following the manifest: decode (JPEG, PNG, WebP,
 * ...), convert to grey or RGB, resize by the manifest's policy, then scale, subtract the
 * mean and divide by the std, channel-first. Frames that already have the model's size
 * (raw pixels, 8-bit PNGs) skip libvips and its fixed per-image cost, with identical
 * results (png-direct.ts). Limits on bytes and pixels guard against decompression bombs;
 * every failure is a FRAME error with a reason, never a crash.
 */
import sharp from 'sharp';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { ModelManifest } from '../model/manifest.js';
import { normaliseInto, toModelChannels } from './pixels.js';
import { decodePngAtSize } from './png-direct.js';
import { sniffFormat, type ImageFormat } from './sniff.js';

export interface PreprocessLimits {
  /** Largest encoded frame accepted, in bytes. */
  readonly maxBytes: number;
  /** Largest decoded frame accepted, in pixels (width × height). */
  readonly maxPixels: number;
  /** Formats decoded, as detected from the bytes (default: all but SVG). */
  readonly formats?: readonly ImageFormat[];
  /** Longest one decode may take (ms, rounded up to seconds for libvips; default 2000). */
  readonly decodeTimeoutMs?: number;
}

const DEFAULT_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'];

/** Layout of raw 8-bit pixels handed to rawInto. */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

export type FrameErrorReason = 'too-large' | 'undecodable' | 'too-many-pixels' | 'unsupported-content-type' | 'unsupported-format' | 'decode-timeout' | 'bad-raw-frame';

export class FrameError extends GaiaError {
  constructor(readonly reason: FrameErrorReason, message: string, cause?: unknown) {
    super(ErrorCodes.BAD_FRAME, message, cause === undefined ? {} : { cause });
  }
}

const KERNELS = { nearest: 'nearest', bilinear: 'linear', bicubic: 'cubic' } as const;

/** ITU-R BT.601 luma weights, as a 3x3 recombination whose first row is used. */
const BT601_LUMA: [[number, number, number], [number, number, number], [number, number, number]] = [
  [0.299, 0.587, 0.114],
  [0.299, 0.587, 0.114],
  [0.299, 0.587, 0.114],
];

export interface PreprocessOptions {
  /** Decode frames at the model's size without libvips (default true; false for comparisons). */
  readonly direct?: boolean;
}

export class Preprocessor {
  readonly elementsPerFrame: number;
  private readonly direct: boolean;

  constructor(
    private readonly manifest: ModelManifest,
    private readonly limits: PreprocessLimits,
    options: PreprocessOptions = {},
  ) {
    const [, c, h, w] = manifest.input.shape;
    this.elementsPerFrame = c * h * w;
    this.direct = options.direct ?? true;
  }

  /** Decodes one encoded frame into `out` (channel-first, normalised). */
  async decodeInto(bytes: Uint8Array, out: Float32Array): Promise<void> {
    if (bytes.byteLength > this.limits.maxBytes) {
      throw new FrameError('too-large', `frame is ${bytes.byteLength} bytes, over the limit of ${this.limits.maxBytes}`);
    }
    const format = sniffFormat(bytes);
    const allowed = this.limits.formats ?? DEFAULT_FORMATS;
    if (!format) throw new FrameError('undecodable', `frame is not in an image format gaia-sentinel decodes (${allowed.join(', ')}; detected from its bytes, whatever its content-type)`);
    if (!allowed.includes(format)) throw new FrameError('unsupported-format', `frame is ${format}, which is not enabled (frames.formats: ${allowed.join(', ')})`);
    const { width, height } = this.manifest.input.resize;
    const direct = format === 'png' && this.direct && width * height <= this.limits.maxPixels ? decodePngAtSize(bytes, width, height) : undefined;
    if (direct) return this.fromPixels(direct.data, direct.channels, out);
    await this.run(() => sharp(bytes, { limitInputPixels: this.limits.maxPixels, failOn: 'error' }), out);
  }

  /** Preprocesses raw 8-bit pixels (HWC), e.g. an IDX data set image, like a decoded frame. */
  async rawInto(pixels: Uint8Array, raw: RawImage, out: Float32Array): Promise<void> {
    if (pixels.byteLength > this.limits.maxBytes) {
      throw new FrameError('too-large', `frame is ${pixels.byteLength} bytes, over the limit of ${this.limits.maxBytes}`);
    }
    if (raw.width * raw.height > this.limits.maxPixels) {
      throw new FrameError('too-many-pixels', `image of ${raw.width}x${raw.height} exceeds the limit of ${this.limits.maxPixels} pixels`);
    }
    if (pixels.length !== raw.width * raw.height * raw.channels) {
      throw new FrameError('undecodable', `raw image has ${pixels.length} bytes, expected ${raw.width}x${raw.height}x${raw.channels}`);
    }
    const { width, height } = this.manifest.input.resize;
    if (this.direct && raw.width === width && raw.height === height) return this.fromPixels(pixels, raw.channels, out);
    await this.run(() => sharp(pixels, { raw }), out);
  }

  /** Pixels already at the model's size: colour conversion and normalisation only. */
  private fromPixels(data: Uint8Array, channels: number, out: Float32Array): void {
    normaliseInto(toModelChannels(data, channels, this.manifest.input.channels), this.manifest.input, out);
  }

  private async run(open: () => sharp.Sharp, out: Float32Array): Promise<void> {
    const { input } = this.manifest;
    const { resize } = input;
    const channels = input.shape[1];
    let data: Buffer;
    try {
      // Alpha is ignored (the manifest contract), never composited over the background.
      // libvips checks the deadline as it goes and fails the pipeline with "timeout".
      const seconds = Math.max(1, Math.ceil((this.limits.decodeTimeoutMs ?? 2000) / 1000));
      let img = open().timeout({ seconds }).removeAlpha();
      if (input.channels === 'gray') {
        const { channels: inChannels = 1 } = await img.metadata();
        // BT.601 luma on the encoded values (0.299 R + 0.587 G + 0.114 B), as PIL's
        // convert("L") that trained the model; sharp's grayscale() would take linear-light
        // Rec.709 luminance instead. Grey sources pass through untouched.
        // recomb yields floats that the final 8-bit cast truncates: +0.5 makes it round, as PIL.
        if (inChannels >= 3) img = img.toColourspace('srgb').recomb(BT601_LUMA).linear(1, 0.5).extractChannel(0);
        else img = img.extractChannel(0);
      } else {
        img = img.toColourspace('srgb');
      }
      const bg = resize.background;
      data = await img
        .resize(resize.width, resize.height, {
          fit: resize.mode,
          kernel: KERNELS[resize.interpolation],
          background: { r: bg, g: bg, b: bg, alpha: 1 },
        })
        .raw()
        .toBuffer();
    } catch (cause) {
      const message = (cause as Error).message;
      if (/timeout/i.test(message)) {
        throw new FrameError('decode-timeout', `frame took over ${this.limits.decodeTimeoutMs ?? 2000} ms to decode (frames.decodeTimeoutMs)`, cause);
      }
      if (/pixel limit/i.test(message)) {
        throw new FrameError('too-many-pixels', `frame exceeds the limit of ${this.limits.maxPixels} pixels (decompression bomb guard)`, cause);
      }
      throw new FrameError('undecodable', `frame could not be decoded as an image: ${message}`, cause);
    }
    const area = resize.width * resize.height;
    if (data.length !== area * channels) {
      throw new FrameError('undecodable', `decoded frame has ${data.length} values, expected ${area * channels}`);
    }
    normaliseInto(data, input, out);
  }
}
