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
import { Agent } from '../src/agent/agent.js';
import { loadConfig } from '../src/config/load.js';
import { isFlagged, type HeadCalibration } from '../src/detect/calibration.js';
import { ErrorCodes, type GaiaError } from '../src/errors.js';

const ROOT = join(import.meta.dirname, '..');

interface Published {
  topic: string;
  value: { data?: { head: string; score: number; flagged: boolean; frameId: string } } & Record<string, unknown>;
}

/** A replay of a few ID and OOD frames judged by `head`, as the NDJSON the sinks would publish (run --json). */
async function judgedBy(model: string, head: string, calibration: string, extra: Record<string, string> = {}) {
  const samples = join(ROOT, 'models', model, 'samples');
  const config = loadConfig({
    env: {
      GAIA_MODEL_DIR: join(ROOT, 'models', model),
      GAIA_MODEL_VERDICT_HEAD: head,
      GAIA_CALIBRATION: calibration,
      GAIA_REPLAY_DIRS: `${join(samples, 'id')},${join(samples, 'ood')}`,
      GAIA_REPLAY_FPS: '0',
      GAIA_EXECUTION_PROVIDERS: 'cpu',
      GAIA_TELEMETRY_PORT: '0',
      GAIA_KAFKA_SCORES_TOPIC: 'gaia.scores',
      ...extra,
    },
  });
  const out: string[] = [];
  const agent = await Agent.create(config, { stdout: { write: (s: string) => out.push(s) }, log: pino({ level: 'silent' }), json: true });
  await agent.run();
  return out
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Published);
}

function verdictsOf(lines: Published[]) {
  return lines.filter((l) => l.topic === 'gaia.scores').map((l) => (l.value.data ?? l.value) as { head: string; score: number; flagged: boolean });
}

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
