/**
 * Any calibrated head can judge the agent's frames (model.verdictHead), not only GAIA-Z: a
 * replay agent (real ORT) judging with Energy on the bundled model, and with Mahalanobis
 * (compiled with the calibration's feature statistics) on the reference model, flags exactly
 * the frames whose score of that head passes its calibrated threshold, and says which head
 * judged in every record it would publish. A head the calibration has no threshold for, an
 * unknown head, and a statistics head without statistics each stop startup with the reason.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { isFlagged, type HeadCalibration } from '../../src/detect/calibration.js';
import { judgeOf } from '../../src/calibration/calibration-check.js';
import { ErrorCodes, type GaiaError } from '../../src/errors.js';
import { replayJudged } from '../helpers/replay-judged.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface Verdict {
  head: string;
  score: number;
  flagged: boolean;
  frameId: string;
  pValue?: number;
  pValues?: Record<string, number>;
  scores?: Record<string, number>;
}

interface Published {
  topic: string;
  value: { data?: Verdict } & Record<string, unknown>;
}

/** A replay of a few ID and OOD frames judged by `head`, as the NDJSON the sinks would publish (run --json). */
const judgedBy = (model: string, head: string, calibration: string, extra: Record<string, string> = {}) =>
  replayJudged(model, head, calibration, extra) as Promise<Published[]>;

function verdictsOf(lines: Published[]): Verdict[] {
  return lines.filter((l) => l.topic === 'gaia.scores').map((l) => (l.value.data ?? l.value) as Verdict);
}

describe('the verdict rule, the agent\'s default judge', () => {
  it('judges every frame as the calibration\'s rule does, each record with the p-values and scores of its heads', async () => {
    const path = join(ROOT, 'calibration', 'fmnist-cnn.json');
    const file = JSON.parse(readFileSync(path, 'utf8'));
    const rule = judgeOf(path, file);
    const verdicts = verdictsOf(await judgedBy('fmnist-cnn', '', path));
    expect(verdicts).toHaveLength(1024);
    for (const v of verdicts) {
      expect(v.head).toBe('verdict');
      expect(Object.keys(v.scores!)).toEqual([...rule.heads]);
      // The record's own head scores, judged again offline, give the record's verdict.
      const again = rule.judge(Object.fromEntries(Object.entries(v.scores!).map(([h, x]) => [h, [x]])), 0);
      expect(v.flagged).toBe(again.flagged);
      expect(v.score).toBeCloseTo(again.score, 12);
      expect(v.pValues).toEqual(again.pValues);
      expect(v.pValue).toBeCloseTo(again.pValue!, 12);
    }
    expect(verdicts.slice(0, 512).filter((v) => v.flagged).length / 512).toBeLessThan(0.1); // the ID half
  }, 120_000);

  it('a calibration written before the rule (no verdict, no reference scores) still judges by its primary head, GAIA-Z', async () => {
    const shipped = JSON.parse(readFileSync(join(ROOT, 'calibration', 'fmnist-cnn.json'), 'utf8'));
    const { verdict: _, featureStats: __, ...rest } = shipped;
    const legacy = { ...rest, heads: Object.fromEntries(Object.entries(shipped.heads as Record<string, HeadCalibration>).map(([h, c]) => [h, { ...c, reference: undefined }])) };
    const tmp = mkdtempSync(join(tmpdir(), 'gaia-legacy-'));
    try {
      const path = join(tmp, 'legacy.json');
      writeFileSync(path, JSON.stringify(legacy));
      const verdicts = verdictsOf(await judgedBy('fmnist-cnn', '', path));
      expect(verdicts).toHaveLength(1024);
      for (const v of verdicts) {
        expect(v.head).toBe('gaia_z');
        expect(v.flagged).toBe(isFlagged(v.score, shipped.heads.gaia_z));
        expect(v.pValue).toBeUndefined();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a reload whose rule needs a head the running scoring graph lacks, until a restart', async () => {
    const shipped = JSON.parse(readFileSync(join(ROOT, 'calibration', 'fmnist-cnn.json'), 'utf8'));
    const { verdict: _, featureStats: __, ...legacy } = shipped;
    const tmp = mkdtempSync(join(tmpdir(), 'gaia-reload-heads-'));
    try {
      const path = join(tmp, 'live.json');
      writeFileSync(path, JSON.stringify(legacy));
      const samples = join(ROOT, 'models', 'fmnist-cnn', 'samples', 'id');
      const config = loadConfig({
        env: { GAIA_MODEL_DIR: join(ROOT, 'models', 'fmnist-cnn'), GAIA_CALIBRATION: path, GAIA_REPLAY_DIRS: samples, GAIA_REPLAY_FPS: '0', GAIA_EXECUTION_PROVIDERS: 'cpu', GAIA_TELEMETRY_PORT: '0' },
      });
      const agent = await Agent.create(config, { stdout: { write: () => true }, log: pino({ level: 'silent' }) });
      try {
        writeFileSync(path, JSON.stringify(shipped));
        const outcome = await agent.reloadCalibration();
        expect(outcome.kind).toBe('failed');
        expect(outcome.kind === 'failed' && outcome.error.message).toMatch(/judges with mahalanobis, vim, which the running scoring graph does not compute .*restart the agent/);
      } finally {
        await agent.close();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('model.verdictHead', () => {
  it('energy judges the bundled model: flagged exactly where energy passes its calibrated threshold, every record names the head', async () => {
    const path = join(ROOT, 'calibration', 'fmnist-cnn.json');
    const energy = JSON.parse(readFileSync(path, 'utf8')).heads.energy as HeadCalibration;
    const verdicts = verdictsOf(await judgedBy('fmnist-cnn', 'energy', path));
    expect(verdicts).toHaveLength(1024);
    for (const v of verdicts) {
      expect(v.head).toBe('energy');
      expect(v.flagged).toBe(isFlagged(v.score, energy));
    }
    const flagged = verdicts.filter((v) => v.flagged).length;
    // About 5% of the 512 ID frames by calibration, plus whatever OOD frames energy catches.
    expect(flagged).toBeGreaterThan(10);
    expect(flagged).toBeLessThan(1024);
  }, 120_000);

  it('mahalanobis judges the reference model with the statistics compiled in from the calibration', async () => {
    const path = join(ROOT, 'calibration', 'fmnist-resnet18.methods.json');
    const maha = JSON.parse(readFileSync(path, 'utf8')).heads.mahalanobis as HeadCalibration;
    const verdicts = verdictsOf(await judgedBy('fmnist-resnet18', 'mahalanobis', path));
    expect(verdicts).toHaveLength(1024);
    for (const v of verdicts) expect(v.flagged).toBe(isFlagged(v.score, maha));
    // Mahalanobis separates these sets almost perfectly (docs/RESULTS.md).
    const oodFlagged = verdicts.slice(512).filter((v) => v.flagged).length;
    expect(oodFlagged).toBeGreaterThan(500);
  }, 120_000);

  it('refuses an unknown head, a head without a threshold, and a statistics head without statistics', async () => {
    const plain = join(ROOT, 'calibration', 'fmnist-cnn.json');
    const failure = (model: string, head: string, calibration: string) => judgedBy(model, head, calibration).then(() => undefined, (e: GaiaError) => e);
    const unknown = await failure('fmnist-cnn', 'entropy', plain);
    expect(unknown).toMatchObject({ code: ErrorCodes.BAD_CONFIG });
    expect(unknown!.message).toMatch(/model.verdictHead .* is "entropy"; choose one of .*energy/);
    const noThreshold = await failure('fmnist-cnn', 'odin', plain);
    expect(noThreshold).toMatchObject({ code: ErrorCodes.BAD_CONFIG });
    expect(noThreshold!.message).toMatch(/no threshold for the verdict head "odin".*calibrate --methods odin/);
    // The shipped calibration without its feature statistics.
    const tmp = mkdtempSync(join(tmpdir(), 'gaia-verdict-head-'));
    const { featureStats: _, verdict: __, ...withoutStats } = JSON.parse(readFileSync(plain, 'utf8'));
    const statsless = join(tmp, 'no-stats.json');
    writeFileSync(statsless, JSON.stringify(withoutStats));
    const noStats = await failure('fmnist-cnn', 'react', statsless).finally(() => rmSync(tmp, { recursive: true, force: true }));
    expect(noStats).toMatchObject({ code: ErrorCodes.FEATURE_STATS });
  }, 120_000);
});
