/**
 * The calibrated threshold holds on held-out data: on the Fashion-MNIST evaluation half
 * (never used for calibration; committed under test/fixtures/sets), the realised GAIA-Z flag
 * rate at the committed calibration's threshold is 5% ± 1%, and the classifier's accuracy
 * matches its manifest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { isFlagged } from '../src/detect/calibration.js';
import { openFrameSet } from '../src/frames/frame-set.js';
import { loadCalibration } from '../src/offline/calibration-file.js';
import { scoreSet } from '../src/offline/score-set.js';
import { openOfflineSession } from '../src/offline/session.js';

const EVAL_HALF = join(import.meta.dirname, 'fixtures', 'sets', 'fmnist-eval');

describe.each(['fmnist-resnet18', 'fmnist-cnn'])('%s on the held-out evaluation half', (name) => {
  it('flags 5% ± 1% of in-distribution frames at the calibrated threshold', async () => {
    const config = loadConfig({ env: {}, overrides: { 'model.dir': `models/${name}`, 'runtime.executionProviders': ['cpu'], 'runtime.maxBatch': 128 } });
    const session = await openOfflineSession(config);
    try {
      const calibration = await loadCalibration(join('calibration', `${name}.json`), { model: name, fingerprint: session.fingerprint });
      expect(calibration.data.source).toContain('fmnist-calib');
      const scores = await scoreSet(await openFrameSet(EVAL_HALF), session.pre, session.scorer, { batch: 128, onBadFrame: 'stop' });
      expect(scores.count).toBe(5000);
      const z = calibration.heads.gaia_z!;
      const rate = Array.from(scores.heads.gaia_z!).filter((v) => isFlagged(v, z)).length / scores.count;
      expect(rate).toBeGreaterThanOrEqual(0.04);
      expect(rate).toBeLessThanOrEqual(0.06);
      const manifest = JSON.parse(readFileSync(join('models', name, 'manifest.json'), 'utf8'));
      expect(scores.accuracy).toBeGreaterThan(manifest.metrics.test_accuracy - 0.02);
    } finally {
      await session.scorer.close();
    }
  });
});
