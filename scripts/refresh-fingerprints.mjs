// Rewrites the `fingerprint` of committed calibrations (calibration/<name>.json) after a
// change to how fingerprints are computed, not to the scores: the calibration's numbers
// stay as they are. Run after `npm run build`: node scripts/refresh-fingerprints.mjs
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelPackage } from '../dist/src/model/manifest.js';
import { loadModel } from '../dist/src/onnx/model-io.js';
import { modelFingerprint } from '../dist/src/model/fingerprint.js';

for (const file of readdirSync('calibration').filter((f) => f.endsWith('.json'))) {
  const path = join('calibration', file);
  const calibration = JSON.parse(readFileSync(path, 'utf8'));
  const pkg = await loadModelPackage(join('models', calibration.model));
  const fingerprint = modelFingerprint(await loadModel(pkg.modelPath), calibration.taps, pkg.manifest);
  const text = readFileSync(path, 'utf8').replaceAll(`"fingerprint": "${calibration.fingerprint}"`, `"fingerprint": "${fingerprint}"`);
  writeFileSync(path, text);
  console.log(`${path}: ${calibration.fingerprint.slice(0, 12)}… → ${fingerprint.slice(0, 12)}…`);
}
