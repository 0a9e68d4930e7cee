/**
 * A frame message (docs/EVENTS.md, the input contract) → model input: the value is an encoded image (JPEG, PNG,
 * WebP, ...) or raw pixels described by the `x-shape` (HxWxC) and `x-dtype` headers.
 * Every way a message can be unusable is a FrameError with its own reason, which the
 * agent counts and sends to the DLQ. A damaged frame that frames.damaged lets through is
 * decoded, and its damage returned so that it is counted all the same.
 */
import type { InputMeasure } from '../contracts/input-stats.js';
import type { FrameDamage, Headers } from '../contracts/stream.js';
import type { InputStats } from './input-stats.js';
import { measureEncoded, measureRaw, measureWhole, UNMEASURED } from './measure-frame.js';
import { FrameError, type DecodedWhole, type Preprocessor, type RawImage } from './preprocess.js';
import { blockDigest } from './block-digest.js';
import { tensorFingerprint } from './tensor-fingerprint.js';

/** Encoded formats sharp decodes (content-type → accepted). */
const ENCODED = new Set(['image/jpeg', 'image/jpg', 'image/png', 'image/webp', 'image/gif', 'image/tiff', 'image/avif', 'image/heif']);
const RAW = new Set(['application/octet-stream', 'image/x-raw']);

export async function decodeFrame(pre: Preprocessor, value: Uint8Array, headers: Headers, out: Float32Array): Promise<FrameDamage | undefined> {
  return (await decodeAny(pre, value, headers, out, false)).damage;
}

/** decodeFrame; `wantWhole`: an encoded frame's whole scaled frame too, where its decode has one (Preprocessor.decodeWhole). */
async function decodeAny(pre: Preprocessor, value: Uint8Array, headers: Headers, out: Float32Array, wantWhole: boolean): Promise<DecodedWhole> {
  const contentType = headers['content-type']?.split(';')[0]!.trim().toLowerCase();
  if (isRaw(headers)) {
    await pre.rawInto(value, rawLayout(value, headers['x-shape'], headers['x-dtype']), out);
    return { damage: undefined, whole: undefined };
  }
  if (contentType !== undefined && !ENCODED.has(contentType)) {
    throw new FrameError(
      'unsupported-content-type',
      `content-type "${contentType}" is not an image type gaia-sentinel decodes (${[...ENCODED].join(', ')}, or raw pixels with x-shape/x-dtype)`,
    );
  }
  return wantWhole ? pre.decodeWhole(value, out) : { damage: await pre.decode(value, out), whole: undefined };
}

/** A decoded frame's damage (frames.damaged let it through) and its input statistics. */
export interface DecodedFrame {
  readonly damage: FrameDamage | undefined;
  readonly input: InputStats;
}

/**
 * decodeFrame, then the frame's input statistics (docs/DEFINITIONS.md#input-heads): measured
 * only once the model's decode accepted the frame, so its limits (bytes, pixels, formats)
 * guard them too. `measure` (InputMeasure): `full` every input head, from the whole frame
 * the model's decode scaled where it has one (one decode), else from a second small decode
 * (measure-frame.ts); `frozen` only the frozen check's hash and sharpness, from the decoded
 * tensor itself; `none` unmeasured (no cost, no evidence).
 */
export async function decodeMeasured(pre: Preprocessor, value: Uint8Array, headers: Headers, out: Float32Array, measure: InputMeasure = 'full'): Promise<DecodedFrame> {
  const { damage, whole } = await decodeAny(pre, value, headers, out, measure === 'full');
  if (measure === 'none') return { damage, input: UNMEASURED };
  const blocks = blockDigest(out, ...pre.frameShape);
  if (measure === 'frozen') return { damage, input: { ...tensorFingerprint(out, ...pre.frameShape), blocks } };
  if (isRaw(headers)) return { damage, input: { ...measureRaw(value, rawLayout(value, headers['x-shape'], headers['x-dtype'])), blocks } };
  return { damage, input: { ...((whole && measureWhole(whole, value.byteLength)) || (await measureEncoded(value))), blocks } };
}

function isRaw(headers: Headers): boolean {
  const contentType = headers['content-type']?.split(';')[0]!.trim().toLowerCase();
  return headers['x-shape'] !== undefined || (contentType !== undefined && RAW.has(contentType));
}

function rawLayout(value: Uint8Array, shape: string | undefined, dtype: string | undefined): RawImage {
  if (!shape) throw new FrameError('bad-raw-frame', 'raw frame without an x-shape header (HxWxC, e.g. 480x640x3)');
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(shape.trim());
  if (!m) throw new FrameError('bad-raw-frame', `x-shape "${shape}" is not HxWxC (e.g. 480x640x3)`);
  const [height, width, channels] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![1, 2, 3, 4].includes(channels) || height < 1 || width < 1) {
    throw new FrameError('bad-raw-frame', `x-shape "${shape}": channels must be 1-4 and sizes positive`);
  }
  if ((dtype ?? 'uint8').toLowerCase() !== 'uint8') {
    throw new FrameError('bad-raw-frame', `x-dtype "${dtype}" is not supported; send 8-bit pixels (x-dtype: uint8)`);
  }
  const expected = height * width * channels;
  if (value.byteLength !== expected) {
    throw new FrameError('bad-raw-frame', `raw frame is ${value.byteLength} bytes but x-shape ${shape} (uint8) needs ${expected}`);
  }
  return { width, height, channels: channels as RawImage['channels'] };
}
