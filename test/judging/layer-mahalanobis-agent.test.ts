/**
 * layer_mahalanobis in the running agent: a calibration made by `calibrate --stats-data
 * --methods …,layer_mahalanobis --verdict-heads …` carries the layers' statistics, the agent
 * compiles the head with them, and a replay (real ORT) judges by it, alone
 * (model.verdictHead) or inside the verdict rule, exactly as the calibration says.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrateCommand } from '../../src/cli/calibrate.js';
import { isFlagged, type HeadCalibration } from '../../src/detect/calibration.js';
import { capture } from '../helpers/capture.js';
import { replayJudged } from '../helpers/replay-judged.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'models', 'fmnist-cnn');
const SAMPLES = join(MODEL, 'samples');

interface Verdict {
  head: string;
  score: number;
  flagged: boolean;
  scores?: Record<string, number>;
}

async function replayVerdicts(calibration: string, head: string): Promise<Verdict[]> {
  return (await replayJudged('fmnist-cnn', head, calibration))
    .filter((l) => l.topic === 'gaia.scores')
    .map((l) => ((l.value as { data?: Verdict }).data ?? l.value) as unknown as Verdict);
}

describe('layer_mahalanobis in the agent', () => {
  let dir: string;
  let calibration: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gaia-layer-'));
    calibration = join(dir, 'layers.json');
    const stats = join(ROOT, 'test', 'fixtures', 'sets', 'fmnist-eval');
    const args = ['--model', MODEL, '--data', join(SAMPLES, 'id'), '--stats-data', stats, '--methods', 'gaia_z,energy,layer_mahalanobis'];
    await calibrateCommand([...args, '--verdict-heads', 'gaia_z,energy,layer_mahalanobis', '--out', calibration], capture().io);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('judges alone exactly where its score passes the calibrated threshold, and flags the OOD samples more', async () => {
    const file = JSON.parse(readFileSync(calibration, 'utf8'));
    expect(file.featureStats.layers.channels).toEqual([16, 32, 32, 64, 64]);
    const head = file.heads.layer_mahalanobis as HeadCalibration;
    const verdicts = await replayVerdicts(calibration, 'layer_mahalanobis');
    expect(verdicts).toHaveLength(1024);
    for (const v of verdicts) {
      expect(v.head).toBe('layer_mahalanobis');
      expect(v.flagged).toBe(isFlagged(v.score, head));
    }
    const id = verdicts.slice(0, 512).filter((v) => v.flagged).length;
    const ood = verdicts.slice(512).filter((v) => v.flagged).length;
    // Calibrated on the ID samples themselves: 5 % of them, up to ties.
    expect(id).toBeGreaterThanOrEqual(20);
    expect(id).toBeLessThanOrEqual(32);
    expect(ood).toBeGreaterThan(id);
  }, 120_000);

  it('is one of the verdict rule\'s heads, its score in every record', async () => {
    const verdicts = await replayVerdicts(calibration, '');
    expect(verdicts).toHaveLength(1024);
    for (const v of verdicts) {
      expect(v.head).toBe('verdict');
      expect(Object.keys(v.scores!)).toContain('layer_mahalanobis');
    }
  }, 120_000);
});
