/**
 * The frame size read from the bytes (src/frames/header-size.ts) against libvips' own
 * metadata, for every JPEG of the preprocessing fixtures, progressive and grey JPEGs, EXIF
 * ahead of the frame header, and every PNG colour type; malformed headers give undefined
 * (the preprocessor then asks libvips).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { headerSize } from '../../src/frames/header-size.js';

const PARITY = join(import.meta.dirname, '..', 'fixtures', 'preprocess-parity');

async function libvips(bytes: Buffer) {
  const m = await sharp(bytes).metadata();
  return { width: m.width, height: m.height, colour: (m.channels ?? 1) >= 3 };
}

describe('headerSize', () => {
  it.each(readdirSync(PARITY).filter((n) => n.endsWith('.jpg')))('%s: as libvips', async (name) => {
    const bytes = readFileSync(join(PARITY, name));
    expect(headerSize(bytes, 'jpeg')).toEqual(await libvips(bytes));
  });

  it('progressive, grey, and EXIF-tagged JPEGs: as libvips', async () => {
    const photo = readFileSync(join(PARITY, 'fruits-320x240.jpg'));
    const variants = [
      await sharp(photo).jpeg({ progressive: true }).toBuffer(),
      await sharp(photo).greyscale().jpeg().toBuffer(),
      await sharp(photo).withMetadata({ orientation: 6 }).jpeg().toBuffer(),
      await sharp(photo).resize(1920, 1080, { fit: 'fill' }).jpeg({ quality: 85, chromaSubsampling: '4:4:4' }).toBuffer(),
    ];
    for (const bytes of variants) expect(headerSize(bytes, 'jpeg')).toEqual(await libvips(bytes));
  });

  it('every PNG colour type: as libvips', async () => {
    const raw = Buffer.alloc(7 * 5 * 4, 90);
    for (const channels of [1, 2, 3, 4] as const) {
      const png = await sharp(raw.subarray(0, 7 * 5 * channels), { raw: { width: 7, height: 5, channels } }).png().toBuffer();
      expect(headerSize(png, 'png')).toEqual(await libvips(png));
    }
    const palette = await sharp(raw.subarray(0, 7 * 5 * 3), { raw: { width: 7, height: 5, channels: 3 } }).png({ palette: true }).toBuffer();
    expect(headerSize(palette, 'png')).toEqual(await libvips(palette));
  });

  it('gives undefined for headers it cannot read, and for other formats', async () => {
    const jpeg = readFileSync(join(PARITY, 'fruits-320x240.jpg'));
    expect(headerSize(jpeg.subarray(0, 20), 'jpeg')).toBeUndefined();
    const broken = Buffer.from(jpeg);
    broken[2] = 0x00; // not a marker where one must be
    expect(headerSize(broken, 'jpeg')).toBeUndefined();
    expect(headerSize(Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'png')).toBeUndefined();
    const webp = await sharp(jpeg).webp().toBuffer();
    expect(headerSize(webp, 'webp')).toBeUndefined();
  });
});
