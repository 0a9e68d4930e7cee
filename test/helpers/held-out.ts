/**
 * A bundled model's shipped calibration on the held-out Fashion-MNIST evaluation half (never
 * used for calibration; committed under test/fixtures/sets): the session, the calibration and
 * the scores the verdict tests judge. The caller closes `session.scorer`. `scorePooledHalves`
 * scores both ID halves (the calibration half is committed too) for the tests that re-split them.
 */
import { join } from 'node:path';
import { readFeatureStats } from '../../src/calibration/calibration-file.js';
import { loadCalibration } from '../../src/calibration/calibration-check.js';
import type { HeadName } from '../../src/compile/heads.js';
import { loadConfig } from '../../src/config/load.js';
import { openFrameSet } from '../../src/frames/frame-set.js';
import { scoreSet } from '../../src/offline/score-set.js';
import { openOfflineSession } from '../../src/offline/session.js';

export const EVAL_HALF = join(import.meta.dirname, '..', 'fixtures', 'sets', 'fmnist-eval');
export const CALIB_HALF = join(import.meta.dirname, '..', 'fixtures', 'sets', 'fmnist-calib');

export async function scoreHeldOut(name: string, overrides: Record<string, unknown> = {}) {
  const config = loadConfig({ env: {}, overrides: { 'model.dir': `models/${name}`, 'runtime.executionProviders': ['cpu'], 'runtime.maxBatch': 128, ...overrides } });
  const path = join('calibration', `${name}.json`);
  const session = await openOfflineSession(config, {
    heads: ['logits', 'gaia_z', 'msp', 'energy', 'mahalanobis', 'vim'] as HeadName[],
    headSettings: { featureStats: await readFeatureStats(path) },
  });
  try {
    const calibration = await loadCalibration(path, { model: name, fingerprint: session.fingerprint });
    const scores = await scoreSet(await openFrameSet(EVAL_HALF), session.pre, session.scorer, { batch: 128, onBadFrame: 'stop' });
    return { config, path, session, calibration, scores };
  } catch (err) {
    await session.scorer.close();
    throw err;
  }
}

/**
 * Both ID halves through the shipped calibration's session: every head's raw score and every
 * input head's measured value, the calibration half's frames first, as Float64Arrays.
 */
export async function scorePooledHalves(name: string) {
  const held = await scoreHeldOut(name);
  try {
    const calib = await scoreSet(await openFrameSet(CALIB_HALF), held.session.pre, held.session.scorer, { batch: 128, onBadFrame: 'stop' });
    const pooled: Record<string, Float64Array> = {};
    for (const [part, eval_] of [
      [calib.heads, held.scores.heads],
      [calib.inputs, held.scores.inputs],
    ] as const) {
      for (const h of Object.keys(part)) pooled[h] = Float64Array.from([...part[h]!, ...eval_[h]!]);
    }
    return { ...held, pooled };
  } catch (err) {
    await held.session.scorer.close();
    throw err;
  }
}
