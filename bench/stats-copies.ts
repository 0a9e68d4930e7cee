/**
 * How far the input statistics measured from the model's own decode (one decode per frame:
 * whole-frame.ts, measure-frame.ts measureWhole) are from those of the second, small decode
 * they replace (measureEncoded), per frame size and resize policy: the relative difference
 * per head (input_flat: the difference in share points), median and extremes over the
 * OpenCV sample photographs (Debian opencv-doc) stretched to each size as JPEG q85.
 *
 *   npm run build && node dist/bench/stats-copies.js [--policies cover:bilinear,cover:bicubic,contain:bilinear,cover:bilinear:0.875]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { INPUT_HEADS } from '../src/contracts/input-stats.js';
import { measureEncoded, measureWhole } from '../src/frames/measure-frame.js';
import { Preprocessor } from '../src/frames/preprocess.js';
import { validateManifest, type ResizePolicy } from '../src/model/manifest.js';

const { values } = parseArgs({ options: { policies: { type: 'string', default: 'cover:bilinear,cover:bicubic,contain:bilinear,cover:bilinear:0.875' } } });
const OPENCV = '/usr/share/doc/opencv-doc/examples/data';
const PHOTOS = ['aero1.jpg', 'baboon.jpg', 'fruits.jpg', 'home.jpg', 'messi5.jpg', 'orange.jpg', 'building.jpg', 'butterfly.jpg', 'board.jpg', 'pic1.png', 'pic3.png'];
const SIZES = [[1920, 1080], [1280, 720], [2592, 1944], [1366, 768], [800, 600], [640, 480], [3840, 2160], [1080, 1920]] as const;
const HEADS = INPUT_HEADS.filter((h) => h !== 'input_complexity');

const percent = (sorted: number[]) => `${(100 * sorted[sorted.length >> 1]!).toFixed(1)} [${(100 * sorted[0]!).toFixed(1)}, ${(100 * sorted[sorted.length - 1]!).toFixed(1)}]`;

for (const policy of values.policies!.split(',')) {
  const [mode, interpolation, crop] = policy.split(':') as [ResizePolicy['mode'], ResizePolicy['interpolation'], string | undefined];
  const resize = { mode, width: 224, height: 224, interpolation, background: 0, ...(crop ? { crop: Number(crop) } : {}) };
  const input = { name: 'input', dtype: 'float32', shape: [null, 3, 224, 224], layout: 'NCHW', channels: 'rgb', resize, scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] };
  const pre = new Preprocessor(validateManifest({ name: 'stats-copies', input, labels: ['a', 'b'] }, 'stats-copies'), { maxBytes: 1 << 26, maxPixels: 1 << 26 });
  const out = new Float32Array(pre.elementsPerFrame);
  console.log(`\n${policy}: median [min, max] over ${PHOTOS.length} photographs, % (input_flat: share points)`);
  console.log(`| size | ${HEADS.join(' | ')} |\n|---|${HEADS.map(() => '---:').join('|')}|`);
  for (const [width, height] of SIZES) {
    const diffs: Record<string, number[]> = Object.fromEntries(HEADS.map((h) => [h, []]));
    for (const photo of PHOTOS) {
      const bytes = await sharp(join(OPENCV, photo)).resize(width, height, { fit: 'fill' }).jpeg({ quality: 85 }).toBuffer();
      const { whole } = await pre.decodeWhole(bytes, out);
      const one = whole && measureWhole(whole, bytes.byteLength);
      if (!one) throw new Error(`${width}x${height} ${policy}: no whole frame to measure (the policy keeps the second decode)`);
      const two = await measureEncoded(bytes);
      for (const h of HEADS) {
        const a = one.values[h];
        const b = two.values[h];
        if (h === 'input_flat') diffs[h]!.push(a - b);
        else if (b !== 0) diffs[h]!.push(a / b - 1);
      }
    }
    console.log(`| ${width}x${height} | ${HEADS.map((h) => (diffs[h]!.length ? percent(diffs[h]!.sort((x, y) => x - y)) : '–')).join(' | ')} |`);
  }
}
