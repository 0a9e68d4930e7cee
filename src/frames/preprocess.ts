/**
 * Frame bytes → model input, with sharp, following the manifest: decode (JPEG, PNG, WebP,
 * ...), convert to grey or RGB, resize by the manifest's policy, then scale, subtract the
 * mean and divide by the std, channel-first. Frames that already have the model's size
 * (raw pixels, 8-bit PNGs) skip libvips and its fixed per-image cost, with identical
 * results (png-direct.ts). Limits on bytes and pixels guard against decompression bombs;
 * every failure is a FRAME error with a reason, never a crash. A damaged frame (a valid
 * header, data libvips reads only by ignoring its errors) is dead-lettered or scored as
 * frames.damaged says, and reported either way (decode-failure.ts words the messages).
 * decodeWhole also hands back the whole scaled frame, for the input statistics, from the
 * same decode (whole-frame.ts).
 */
import sharp from 'sharp';
import type { FrameDamage } from '../contracts/stream.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { ModelManifest, ResizePolicy } from '../model/manifest.js';
import { coverCrop, normaliseInto, toModelChannels } from './pixels.js';
import { damagedMessage, endsEarly, saidBy, undecodableMessage } from './decode-failure.js';
import { headerSize, type HeaderSize } from './header-size.js';
import { decodePngAtSize } from './png-direct.js';
import { resizeCrop } from './resample.js';
import { sniffFormat, type ImageFormat } from './sniff.js';
import { scaleWhole, wholeFramePlan, type WholeFrame, type WholePlan } from './whole-frame.js';

export interface PreprocessLimits {
  /** Largest encoded frame accepted, in bytes. */
  readonly maxBytes: number;
  /** Largest decoded frame accepted, in pixels (width × height). */
  readonly maxPixels: number;
  /** Formats decoded, as detected from the bytes (default: all but SVG). */
  readonly formats?: readonly ImageFormat[];
  /** Longest one decode may take (ms, rounded up to seconds for libvips; default 2000). */
  readonly decodeTimeoutMs?: number;
  /** A damaged frame (valid header, data that decodes only with its errors ignored): dead-letter it (default) or score it. */
  readonly damaged?: DamagedPolicy;
}

export type DamagedPolicy = 'dead-letter' | 'score';

const DEFAULT_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'];

/** Layout of raw 8-bit pixels handed to rawInto. */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

/** Why a frame is dead-lettered: `x-error-reason` (schemas/dead-letter-headers.v1.json) and gaia_dead_letters_total{reason}. */
export const FRAME_ERROR_REASONS = ['too-large', 'undecodable', 'too-many-pixels', 'unsupported-content-type', 'unsupported-format', 'decode-timeout', 'bad-raw-frame', 'damaged'] as const;
export type FrameErrorReason = (typeof FRAME_ERROR_REASONS)[number];

export class FrameError extends GaiaError {
  /** `damage`: set on a damaged frame that frames.damaged dead-letters. */
  constructor(readonly reason: FrameErrorReason, message: string, cause?: unknown, readonly damage?: FrameDamage) {
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

/** A frame through libvips: the model's pixels, and the whole scaled frame when one was asked for and exists. */
interface Decoded {
  readonly model: Buffer;
  readonly whole?: WholeFrame;
}

/** decode's result with the whole frame (decodeWhole): present where one libvips decode served both. */
export interface DecodedWhole {
  readonly damage: FrameDamage | undefined;
  readonly whole: WholeFrame | undefined;
}

export interface PreprocessOptions {
  /** Decode frames at the model's size without libvips (default true; false for comparisons). */
  readonly direct?: boolean;
}

export class Preprocessor {
  readonly elementsPerFrame: number;
  /** One frame's tensor as [channels, height, width] (channel-first). */
  readonly frameShape: readonly [number, number, number];
  private readonly direct: boolean;

  constructor(
    private readonly manifest: ModelManifest,
    private readonly limits: PreprocessLimits,
    options: PreprocessOptions = {},
  ) {
    const [, c, h, w] = manifest.input.shape;
    this.elementsPerFrame = c * h * w;
    this.frameShape = [c, h, w];
    // A frame at the model's size is still resampled when cover crops (torchvision scales a
    // 224x224 frame to 256x256 and cuts the centre 224x224).
    this.direct = (options.direct ?? true) && !crops(manifest.input.resize);
  }

  /** Decodes one encoded frame into `out` (channel-first, normalised). */
  async decodeInto(bytes: Uint8Array, out: Float32Array): Promise<void> {
    await this.decode(bytes, out);
  }

  /** decodeInto, resolving to the frame's damage when frames.damaged lets a damaged frame through. */
  async decode(bytes: Uint8Array, out: Float32Array): Promise<FrameDamage | undefined> {
    return (await this.decodeAny(bytes, out, false)).damage;
  }

  /**
   * decode, also handing back the whole frame as the model's decode scaled it, before its cut
   * or padding (whole-frame.ts), where the model's resize allows it: the input statistics'
   * pixels without a second decode. The model's tensor is the same as decode's.
   */
  decodeWhole(bytes: Uint8Array, out: Float32Array): Promise<DecodedWhole> {
    return this.decodeAny(bytes, out, true);
  }

  private async decodeAny(bytes: Uint8Array, out: Float32Array, wantWhole: boolean): Promise<DecodedWhole> {
    if (bytes.byteLength > this.limits.maxBytes) {
      throw new FrameError('too-large', `frame is ${bytes.byteLength} bytes, over the limit of ${this.limits.maxBytes}`);
    }
    const format = sniffFormat(bytes);
    const allowed = this.limits.formats ?? DEFAULT_FORMATS;
    if (!format) throw new FrameError('undecodable', `frame is not in an image format gaia-sentinel decodes (${allowed.join(', ')}; detected from its bytes, whatever its content-type)`);
    if (!allowed.includes(format)) throw new FrameError('unsupported-format', `frame is ${format}, which is not enabled (frames.formats: ${allowed.join(', ')})`);
    const { width, height } = this.manifest.input.resize;
    const direct = format === 'png' && this.direct && width * height <= this.limits.maxPixels ? decodePngAtSize(bytes, width, height) : undefined;
    if (direct) return { damage: this.fromPixels(direct.data, direct.channels, out), whole: undefined };
    return this.decodeEncoded(bytes, format, out, wantWhole);
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
    const data = await this.settle(sharp(pixels, { raw }), { width: raw.width, height: raw.height, colour: raw.channels >= 3 });
    if (!(data instanceof Error)) return void this.normalise(data.model, out);
    this.throwIfLimit(data);
    throw new FrameError('undecodable', `raw frame ${raw.width}x${raw.height}x${raw.channels} could not be converted and resized (stage resize); ${saidBy(data)}`, data);
  }

  /** Pixels already at the model's size: colour conversion and normalisation only. */
  private fromPixels(data: Uint8Array, channels: number, out: Float32Array): undefined {
    normaliseInto(toModelChannels(data, channels, this.manifest.input.channels), this.manifest.input, out);
  }

  /**
   * Colour conversion and resizing per the manifest, to raw 8-bit pixels; rejects with
   * libvips' error. `header`: the frame's size as its bytes say (asked of libvips when absent).
   * `plan`: the whole scaled frame is asked for, and the model's pixels placed from it.
   */
  private async pixels(img: sharp.Sharp, header: HeaderSize | undefined, plan?: WholePlan): Promise<Decoded> {
    const { input } = this.manifest;
    const { resize } = input;
    // Alpha is ignored (the manifest contract), never composited over the background.
    // libvips checks the deadline as it goes and fails the pipeline with "timeout".
    img = img.timeout({ seconds: this.timeoutSeconds }).removeAlpha();
    if (input.channels === 'gray') {
      const colour = header?.colour ?? ((await img.metadata()).channels ?? 1) >= 3;
      // BT.601 luma on the encoded values (0.299 R + 0.587 G + 0.114 B), as PIL's
      // convert("L") that trained the model; sharp's grayscale() would take linear-light
      // Rec.709 luminance instead. Grey sources pass through untouched.
      // recomb yields floats that the final 8-bit cast truncates: +0.5 makes it round, as PIL.
      if (colour) img = img.toColourspace('srgb').recomb(BT601_LUMA).linear(1, 0.5).extractChannel(0);
      else img = img.extractChannel(0);
    } else {
      img = img.toColourspace('srgb');
    }
    if (plan && header) return scaleWhole(img, plan, header, input);
    const bg = resize.background;
    if (crops(resize)) return { model: await cropped(img, resize, header) };
    const model = await img
      .resize(resize.width, resize.height, {
        fit: resize.mode,
        kernel: KERNELS[resize.interpolation],
        background: { r: bg, g: bg, b: bg, alpha: 1 },
      })
      .raw()
      .toBuffer();
    return { model };
  }

  /** The pixels, or the error that stopped libvips (never thrown: the callers look at it). */
  private settle(img: sharp.Sharp, header?: HeaderSize, plan?: WholePlan): Promise<Decoded | Error> {
    return this.pixels(img, header, plan).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  }

  private get timeoutSeconds(): number {
    return Math.max(1, Math.ceil((this.limits.decodeTimeoutMs ?? 2000) / 1000));
  }

  /** Errors that are the frame's limits rather than its bytes: no second look. */
  private throwIfLimit(err: Error): void {
    if (/timeout/i.test(err.message)) {
      throw new FrameError('decode-timeout', `frame took over ${this.limits.decodeTimeoutMs ?? 2000} ms to decode (frames.decodeTimeoutMs)`, err);
    }
    if (/pixel limit/i.test(err.message)) {
      throw new FrameError('too-many-pixels', `frame exceeds the limit of ${this.limits.maxPixels} pixels (decompression bomb guard)`, err);
    }
  }

  /**
   * An encoded frame through libvips, strictly first (failOn warning: libjpeg's "corrupt
   * data" warnings fail it, where failOn error let garbled pixels through). Only a frame
   * that fails is looked at again: its header, then decoded with the errors in its data
   * ignored, which tells a damaged frame (it decodes so) from an undecodable one.
   */
  private async decodeEncoded(bytes: Uint8Array, format: ImageFormat, out: Float32Array, wantWhole: boolean): Promise<DecodedWhole> {
    const open = (failOn: 'warning' | 'none') => sharp(bytes, { limitInputPixels: this.limits.maxPixels, failOn });
    const size = headerSize(bytes, format);
    const plan = wantWhole && size ? wholeFramePlan(this.manifest.input, format, size.width, size.height) : undefined;
    const strict = await this.settle(open('warning'), size, plan);
    if (!(strict instanceof Error)) return { damage: this.normalise(strict.model, out), whole: strict.whole };
    this.throwIfLimit(strict);
    const header = await open('none')
      .metadata()
      .catch((err: unknown) => new FrameError('undecodable', undecodableMessage({ format }, 'header', err), err));
    if (header instanceof FrameError) throw header;
    const context = { format, width: header.width, height: header.height };
    const tolerant = await this.settle(open('none'), size, plan);
    if (tolerant instanceof Error) {
      this.throwIfLimit(tolerant);
      // Decoding alone (no resize), to say which stage failed; only undecodable frames pay it.
      const decodes = await open('none').timeout({ seconds: this.timeoutSeconds }).stats().then(() => true, () => false);
      throw new FrameError('undecodable', undecodableMessage(context, decodes ? 'resize' : 'decode', tolerant), tolerant);
    }
    const truncated = endsEarly(format, bytes);
    const detail = damagedMessage(context, truncated, strict);
    const action = this.limits.damaged ?? 'dead-letter';
    const damage: FrameDamage = { kind: truncated ? 'truncated' : 'corrupt', action, detail };
    if (action === 'dead-letter') throw new FrameError('damaged', `${detail}; dead-lettered by frames.damaged (score: score such frames)`, strict, damage);
    this.normalise(tolerant.model, out);
    return { damage, whole: tolerant.whole };
  }

  /** Raw 8-bit pixels at the model's size → the normalised tensor. */
  private normalise(data: Buffer, out: Float32Array): undefined {
    const { input } = this.manifest;
    const area = input.resize.width * input.resize.height;
    if (data.length !== area * input.shape[1]) {
      throw new FrameError('undecodable', `decoded frame has ${data.length} values, expected ${area * input.shape[1]}`);
    }
    normaliseInto(data, input, out);
    return undefined;
  }
}

/** cover with a crop below 1 (absent or 1: sharp's own cover, as before crop existed). */
function crops(resize: ResizePolicy): boolean {
  return resize.mode === 'cover' && resize.crop !== undefined && resize.crop !== 1;
}

/**
 * cover with crop: the frame scaled to cover (W / crop) x (H / crop), then its centre
 * W x H, where coverCrop says. Reducing (bilinear, bicubic), libvips resizes, with
 * fastShrinkOnLoad off: JPEG shrink-on-load then leaves the kernel a reduction of 2 or
 * more, which keeps 1366x768 and 800x800 frames as close to torchvision as smaller ones.
 * Enlarging, or nearest, PIL's own resampling (resample.ts) on the decoded frame, where
 * libvips strays further. test/frames/torchvision-parity.test.ts measures it.
 */
async function cropped(img: sharp.Sharp, resize: ResizePolicy, header: HeaderSize | undefined): Promise<Buffer> {
  const { width = 0, height = 0 } = header ?? (await img.metadata());
  const box = coverCrop(width, height, resize.width, resize.height, resize.crop!);
  if (resize.interpolation === 'nearest' || box.width > width || box.height > height) {
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    const out = resizeCrop(data, info.width, info.height, info.channels, box, resize.width, resize.height, resize.interpolation);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }
  return img
    .resize(box.width, box.height, { fit: 'fill', kernel: KERNELS[resize.interpolation], fastShrinkOnLoad: false })
    .extract({ left: box.left, top: box.top, width: resize.width, height: resize.height })
    .raw()
    .toBuffer();
}
