/**
 * Damaged frames at the decoder: a JPEG with a valid header and a truncated or corrupt body
 * is found (libvips used to score it silently), dead-lettered as `damaged` or scored as
 * frames.damaged says, and reported either way; every libvips failure's message names the
 * format, the stage and libvips' words, even when libvips only says "Unknown error".
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FrameDamage } from '../../src/contracts/stream.js';
import { endsEarly, libvipsText, undecodableMessage } from '../../src/frames/decode-failure.js';
import { decodeFrame } from '../../src/frames/frame-decoder.js';
import { FrameError, Preprocessor, type DamagedPolicy } from '../../src/frames/preprocess.js';
import { loadModelPackage, type ModelManifest } from '../../src/model/manifest.js';

let manifest: ModelManifest;
/** A 320x240 camera-like JPEG: gradients and texture, so its entropy-coded body is long. */
let jpeg: Buffer;

const pre = (damaged?: DamagedPolicy) => new Preprocessor(manifest, { maxBytes: 1 << 22, maxPixels: 1 << 22, ...(damaged ? { damaged } : {}) });

beforeAll(async () => {
  manifest = (await loadModelPackage('models/fmnist-cnn')).manifest;
  const [w, h] = [320, 240];
  const rgb = Buffer.alloc(w * h * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = ((i % (w * 3)) + 2 * Math.floor(i / (w * 3)) + ((i * 2654435761) >>> 27)) & 0xff;
  jpeg = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
});

/** Where the entropy-coded scan starts: after the SOS marker (ff da) and its segment. */
function scanStart(b: Buffer): number {
  const sos = b.indexOf(Buffer.from([0xff, 0xda]));
  return sos + 2 + b.readUInt16BE(sos + 2);
}

const truncated = () => jpeg.subarray(0, jpeg.length >> 1);
/** 1 KiB of the scan overwritten in its middle; the header and the end marker intact. */
function corrupted(): Buffer {
  const b = Buffer.from(jpeg);
  const from = scanStart(b) + ((b.length - scanStart(b)) >> 1) - 512;
  for (let i = 0; i < 1024; i++) b[from + i] = (i * 131 + 7) & 0xff;
  return b;
}

async function outcome(bytes: Uint8Array, p: Preprocessor): Promise<{ damage?: FrameDamage; error?: FrameError; out: Float32Array }> {
  const out = new Float32Array(p.elementsPerFrame);
  try {
    return { damage: await p.decode(bytes, out), out };
  } catch (err) {
    expect(err).toBeInstanceOf(FrameError);
    return { error: err as FrameError, out };
  }
}

describe('damaged frames', () => {
  it('decodes the intact JPEG with no damage', async () => {
    const r = await outcome(jpeg, pre());
    expect(r.error).toBeUndefined();
    expect(r.damage).toBeUndefined();
  });

  it.each([
    ['cut in half', truncated, 'truncated'],
    ['with its body overwritten', corrupted, 'corrupt'],
  ] as const)('dead-letters a JPEG %s as damaged by default, saying what and where', async (_, make, kind) => {
    const { error } = await outcome(make(), pre());
    expect(error?.reason).toBe('damaged');
    expect(error?.damage).toMatchObject({ kind, action: 'dead-letter' });
    expect(error?.message).toContain('jpeg frame 320x240 is damaged (stage decode)');
    expect(error?.message).toContain(kind === 'truncated' ? 'truncated: its bytes end before the JPEG end marker' : 'corrupt');
    expect(error?.message).toContain('frames.damaged');
  });

  it.each([
    ['cut in half', truncated, 'truncated'],
    ['with its body overwritten', corrupted, 'corrupt'],
  ] as const)('scores a JPEG %s with frames.damaged=score, and returns its damage to be counted', async (_, make, kind) => {
    const clean = await outcome(jpeg, pre('score'));
    const { damage, error, out } = await outcome(make(), pre('score'));
    expect(error).toBeUndefined();
    expect(damage).toMatchObject({ kind, action: 'score' });
    expect(damage!.detail).toContain('jpeg frame 320x240 is damaged');
    expect(out.every(Number.isFinite)).toBe(true);
    expect(Array.from(out)).not.toEqual(Array.from(clean.out)); // the damage shows in the pixels
  });

  it('hands the damage through decodeFrame, as the pipeline calls it', async () => {
    const out = new Float32Array(784);
    await expect(decodeFrame(pre('score'), corrupted(), { 'content-type': 'image/jpeg' }, out)).resolves.toMatchObject({ kind: 'corrupt', action: 'score' });
    await expect(decodeFrame(pre('score'), jpeg, { 'content-type': 'image/jpeg' }, out)).resolves.toBeUndefined();
    await expect(decodeFrame(pre(), truncated(), {}, out)).rejects.toMatchObject({ reason: 'damaged', damage: { kind: 'truncated', action: 'dead-letter' } });
  });

  it('keeps a frame whose header is cut undecodable (stage header), whatever the setting', async () => {
    for (const policy of ['dead-letter', 'score'] as const) {
      const { error } = await outcome(jpeg.subarray(0, 100), pre(policy));
      expect(error?.reason).toBe('undecodable');
      expect(error?.message).toMatch(/^jpeg frame could not be decoded as an image: its header could not be read \(stage header\)/);
    }
  });

  it('calls a PNG cut in a later data chunk damaged, and one that libvips cannot decode even ignoring errors undecodable (stage decode)', async () => {
    const png = await sharp(jpeg).png().toBuffer();
    expect((await outcome(png.subarray(0, png.length >> 1), pre())).error?.damage).toMatchObject({ kind: 'truncated' });
    const small = await sharp(Buffer.from(Array.from({ length: 784 }, (_, i) => (i * 7919) & 0xff)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    const { error } = await outcome(small.subarray(0, small.length >> 1), pre('score'));
    expect(error?.reason).toBe('undecodable');
    expect(error?.message).toMatch(/^png frame 28x28 could not be decoded as an image: its data could not be decoded \(stage decode\); libvips(: .+| gave no reason)$/);
  });
});

describe('dead-letter messages of damaged frames decoded at once (libvips shares one error buffer)', () => {
  it('name the format, the size and the stage for every frame, and never only "Unknown error"', async () => {
    const p = pre();
    const frames = Array.from({ length: 28 }, (_, k) => jpeg.subarray(0, Math.floor(jpeg.length * (0.2 + k * 0.025))));
    const errors = await Promise.all(frames.map(async (f) => (await outcome(f, p)).error));
    for (const err of errors) {
      expect(err?.reason).toBe('damaged');
      expect(err?.message).toMatch(/^jpeg frame 320x240 is damaged \(stage decode\): its header is valid but its data is truncated/);
      expect(err?.message).not.toContain('Unknown error');
      // libvips' words when it has any (under concurrency they may be another frame's: the rest is this frame's own).
      expect(err?.message).toMatch(/; libvips(: .+| gave no reason); dead-lettered by frames\.damaged/);
    }
  });
});

describe('decode-failure helpers', () => {
  it('keeps libvips\' words only when it says more than "Unknown error", each line once', () => {
    expect(libvipsText(new Error('Unknown error'))).toBeUndefined();
    expect(libvipsText(new Error(''))).toBeUndefined();
    expect(libvipsText(new Error('VipsJpeg: premature end of JPEG image\nVipsJpeg: premature end of JPEG image'))).toBe('VipsJpeg: premature end of JPEG image');
    expect(libvipsText(new Error('x'.repeat(2000)))!.length).toBeLessThanOrEqual(400);
    expect(undecodableMessage({ format: 'webp', width: 8, height: 6 }, 'resize', new Error('Unknown error'))).toBe(
      'webp frame 8x6 could not be decoded as an image: it decoded, but could not be converted and resized (stage resize); libvips gave no reason',
    );
  });

  it('tells a frame cut before its end marker', async () => {
    expect(endsEarly('jpeg', jpeg)).toBe(false);
    expect(endsEarly('jpeg', Buffer.concat([jpeg, Buffer.alloc(16)]))).toBe(false); // zero padding after EOI
    expect(endsEarly('jpeg', truncated())).toBe(true);
    const png = await sharp(jpeg).png().toBuffer();
    expect([endsEarly('png', png), endsEarly('png', png.subarray(0, 100))]).toEqual([false, true]);
    const webp = await sharp(jpeg).webp().toBuffer();
    expect([endsEarly('webp', webp), endsEarly('webp', webp.subarray(0, webp.length - 1))]).toEqual([false, true]);
    const gif = await sharp(jpeg).gif().toBuffer();
    expect([endsEarly('gif', gif), endsEarly('gif', gif.subarray(0, gif.length - 1))]).toEqual([false, true]);
  });
});
