/** Frame messages by content type: encoded images, raw pixels by header, and every bad kind with its reason. */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/frames/frame-decoder.js';
import { loadModelPackage } from '../../src/model/manifest.js';
import { FrameError, Preprocessor } from '../../src/frames/preprocess.js';

let pre: Preprocessor;
const out = new Float32Array(784);
const norm = (v: number) => (v / 255 - 0.286) / 0.353;

beforeAll(async () => {
  pre = new Preprocessor((await loadModelPackage('models/fmnist-cnn')).manifest, { maxBytes: 1_000_000, maxPixels: 4_000_000 });
});

async function reason(value: Uint8Array, headers: Record<string, string>): Promise<string> {
  try {
    await decodeFrame(pre, value, headers, out);
  } catch (err) {
    expect(err).toBeInstanceOf(FrameError);
    return (err as FrameError).reason;
  }
  return 'ok';
}

describe('decodeFrame', () => {
  it('decodes an encoded PNG with or without a content-type', async () => {
    const png = await sharp(Buffer.alloc(784, 100), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    expect(await reason(png, { 'content-type': 'image/png' })).toBe('ok');
    expect(out[0]).toBeCloseTo(norm(100), 5);
    expect(await reason(png, {})).toBe('ok');
  });

  it('decodes raw uint8 pixels described by x-shape', async () => {
    const raw = Uint8Array.from({ length: 28 * 28 * 3 }, (_, i) => (i % 3 === 0 ? 200 : 0)); // pure red
    expect(await reason(raw, { 'content-type': 'application/octet-stream', 'x-shape': '28x28x3', 'x-dtype': 'uint8' })).toBe('ok');
    expect(out[0]).toBeCloseTo(norm(Math.round(0.299 * 200)), 2); // BT.601 luma
  });

  it.each([
    ['a corrupt JPEG', () => Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]), { 'content-type': 'image/jpeg' }, 'undecodable'],
    ['an unknown content type', () => new TextEncoder().encode('{"not":"an image"}'), { 'content-type': 'application/json' }, 'unsupported-content-type'],
    ['a raw frame of the wrong size', () => new Uint8Array(100), { 'x-shape': '28x28x1' }, 'bad-raw-frame'],
    ['a malformed x-shape', () => new Uint8Array(784), { 'x-shape': '28 by 28' }, 'bad-raw-frame'],
    ['a float raw frame', () => new Uint8Array(784 * 4), { 'x-shape': '28x28x1', 'x-dtype': 'float32' }, 'bad-raw-frame'],
    ['raw bytes without x-shape', () => new Uint8Array(784), { 'content-type': 'application/octet-stream' }, 'bad-raw-frame'],
    ['a value over the byte limit', () => new Uint8Array(1_000_001), { 'content-type': 'image/png' }, 'too-large'],
  ])('sends %s to the DLQ reason %s', async (_, value, headers, expected) => {
    expect(await reason(value(), headers)).toBe(expected);
  });

  it('stops a decompression bomb by its pixel count', async () => {
    const bomb = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#000' } }).png().toBuffer();
    expect(bomb.byteLength).toBeLessThan(100_000);
    expect(await reason(bomb, { 'content-type': 'image/png' })).toBe('too-many-pixels');
  });
});
