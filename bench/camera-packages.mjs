// Model packages for sizing at camera resolution (docs/DEPLOY.md, "Sizing"): torchvision
// ResNet-50 and MobileNetV3-Large at 224x224 RGB (random weights: timing only; exported by
// the command in docs/BENCHMARKS.md to bench/.cache/pat/), each with 1920x1080 JPEG frames
// made from Debian opencv-doc's photos (scripts/data/install-packages.sh), under
// bench/.cache/camera/<name>/.
//
//   node bench/camera-packages.mjs [--frames 64] [--photos /usr/share/doc/opencv-doc/examples/data]
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values } = parseArgs({ options: { frames: { type: 'string', default: '64' }, photos: { type: 'string', default: '/usr/share/doc/opencv-doc/examples/data' } } });
const photos = readdirSync(values.photos).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort();
if (photos.length === 0) throw new Error(`no photos in ${values.photos}: install Debian's opencv-doc (scripts/data/install-packages.sh)`);

const frames = [];
for (let i = 0; frames.length < Number(values.frames) && i < photos.length * 4; i++) {
  const photo = join(values.photos, photos[i % photos.length]);
  const meta = await sharp(photo).metadata().catch(() => undefined);
  if (!meta?.width || meta.width < 200) continue;
  // A camera frame: the photo filling 1920x1080, a little noise so repeats are not identical bytes.
  const frame = await sharp(photo).resize(1920, 1080, { fit: 'cover' }).removeAlpha().toColourspace('srgb')
    .modulate({ brightness: 0.9 + 0.05 * (i % 5) }).jpeg({ quality: 85, mozjpeg: false }).toBuffer();
  frames.push(frame);
}

for (const name of ['resnet50', 'mobilenet_v3_large']) {
  const model = join('bench', '.cache', 'pat', `${name}.onnx`);
  if (!existsSync(model)) throw new Error(`${model} is missing: export it with the command in docs/BENCHMARKS.md ("GAIA-Z pattern mode")`);
  const dir = join('bench', '.cache', 'camera', name);
  mkdirSync(join(dir, 'samples', 'id'), { recursive: true });
  copyFileSync(model, join(dir, 'model.onnx'));
  const manifest = {
    name: `camera-${name}`,
    task: 'image-classification',
    input: {
      name: 'input', dtype: 'float32', shape: [null, 3, 224, 224], layout: 'NCHW', channels: 'rgb',
      resize: { mode: 'cover', width: 224, height: 224, interpolation: 'bilinear', align: 'center' },
      scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
    },
    output: { name: 'logits', shape: [null, 1000], kind: 'logits' },
    labels: Array.from({ length: 1000 }, (_, i) => `class-${i}`),
    provenance: { architecture: `torchvision ${name}, random weights (timing only)`, frames: `1920x1080 JPEG q85 from ${values.photos}` },
  };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  frames.forEach((f, i) => writeFileSync(join(dir, 'samples', 'id', `frame-${String(i).padStart(3, '0')}.jpg`), f));
  console.log(`${dir}: ${frames.length} frames, mean ${(frames.reduce((a, f) => a + f.length, 0) / frames.length / 1024).toFixed(0)} KiB`);
}
