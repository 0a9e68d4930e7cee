/**
 * Calibrations survive upgrades, and only upgrades that keep the scores:
 * - the fingerprint reads the input model, the taps, the preprocessing and the declared
 *   scoring-semantics version, never the compiled graph's bytes: the bundled models with
 *   every node renamed, and their scoring graphs with every internal node and tensor renamed
 *   (what a compiler release that only renames would ship), still accept the shipped
 *   calibrations and give the same scores;
 * - the scores of the bundled models on sample frames are pinned in a golden file together
 *   with SCORING_SEMANTICS_VERSION: a change to any head's scores without a version bump
 *   fails here (and so does a bump without new golden scores).
 *
 * After an intended scoring change: bump SCORING_SEMANTICS_VERSION (src/compile/semantics.ts),
 * then `GAIA_WRITE_SCORING_GOLDEN=1 npx vitest run test/compile/scoring-semantics.test.ts`, and
 * recalibrate the bundled models (their calibrations no longer match, by design).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import { SCORING_SEMANTICS_VERSION } from '../../src/compile/semantics.js';
import { loadConfig } from '../../src/config/load.js';
import { openFrameSet, type FrameSet } from '../../src/frames/frame-set.js';
import { loadModelPackage } from '../../src/model/manifest.js';
import { Preprocessor } from '../../src/frames/preprocess.js';
import type { Model } from '../../src/onnx/graph.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { loadCalibration } from '../../src/calibration/calibration-check.js';
import { modelFingerprint } from '../../src/model/fingerprint.js';
import { scoreSet } from '../../src/offline/score-set.js';
import { openOfflineSession } from '../../src/offline/session.js';
import { runModel } from '../helpers/ort.js';

const GOLDEN = join(import.meta.dirname, '..', 'fixtures', 'scoring-semantics.json');
const MODELS = ['fmnist-cnn', 'fmnist-resnet18'] as const;
const HEADS = ['gaia_z', 'gaia_a', 'msp', 'energy'] as const;
const PER_SET = 48;

interface Golden {
  readonly semantics: number;
  readonly frames: string;
  readonly scores: Record<string, Record<string, number[]>>;
}

/** The first n frames of a folder. */
function firstOf(set: FrameSet, n: number): FrameSet {
  return {
    ...set,
    count: Math.min(n, set.count),
    async *items() {
      let i = 0;
      for await (const item of set.items()) {
        if (i++ >= n) return;
        yield item;
      }
    },
  };
}

/** Every head's scores on the first PER_SET ID and OOD samples of a bundled model, in the given mode. */
async function scoresOf(name: string, mode: 'pattern' | 'float'): Promise<Record<string, number[]>> {
  const config = loadConfig({ env: {}, overrides: { 'model.dir': `models/${name}`, 'model.gaiaZMode': mode, 'runtime.executionProviders': ['cpu'], 'runtime.maxBatch': 32 } });
  const session = await openOfflineSession(config);
  try {
    const out: Record<string, number[]> = Object.fromEntries(HEADS.map((h) => [h, []]));
    for (const part of ['id', 'ood']) {
      const set = firstOf(await openFrameSet(join('models', name, 'samples', part)), PER_SET);
      const scores = await scoreSet(set, session.pre, session.scorer, { batch: 32, onBadFrame: 'stop' });
      for (const h of HEADS) out[h]!.push(...Array.from(scores.heads[h]!, Number));
    }
    return out;
  } finally {
    await session.scorer.close();
  }
}

/** Indices where a and b differ by more than float32 noise of a run on another CPU. */
function differing(a: readonly number[], b: readonly number[]): number[] {
  const bad: number[] = [];
  a.forEach((v, i) => {
    const w = b[i]!;
    if (!(Math.abs(v - w) <= 1e-7 + 1e-5 * Math.max(Math.abs(v), Math.abs(w)))) bad.push(i);
  });
  return bad;
}

describe('scores are pinned to the scoring-semantics version', () => {
  it(`every head of ${MODELS.join(' and ')} gives the golden scores of semantics version ${SCORING_SEMANTICS_VERSION}, in both GAIA-Z modes`, async () => {
    const now: Golden['scores'] = {};
    for (const name of MODELS) now[name] = await scoresOf(name, 'pattern');
    if (process.env.GAIA_WRITE_SCORING_GOLDEN === '1') {
      const old = existsSync(GOLDEN) ? (JSON.parse(readFileSync(GOLDEN, 'utf8')) as Golden) : undefined;
      const changed = old && MODELS.some((m) => HEADS.some((h) => differing(old.scores[m]![h]!, now[m]![h]!).length > 0));
      if (old && changed && old.semantics === SCORING_SEMANTICS_VERSION) {
        throw new Error(`the scores changed but SCORING_SEMANTICS_VERSION is still ${SCORING_SEMANTICS_VERSION}: bump it (src/compile/semantics.ts) before writing new golden scores`);
      }
      const golden: Golden = { semantics: SCORING_SEMANTICS_VERSION, frames: `first ${PER_SET} of samples/id, then of samples/ood`, scores: now };
      writeFileSync(GOLDEN, `${JSON.stringify(golden)}\n`);
    }
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Golden;
    expect(
      golden.semantics,
      `SCORING_SEMANTICS_VERSION is ${SCORING_SEMANTICS_VERSION} but ${GOLDEN} holds the scores of version ${golden.semantics}: write the new version's golden scores (see this file's header)`,
    ).toBe(SCORING_SEMANTICS_VERSION);
    const float: Golden['scores'] = {};
    for (const name of MODELS) float[name] = await scoresOf(name, 'float');
    for (const name of MODELS) {
      for (const h of HEADS) {
        for (const [mode, scores] of [['pattern', now], ['float', float]] as const) {
          const bad = differing(golden.scores[name]![h]!, scores[name]![h]!);
          expect(
            bad.map((i) => `frame ${i}: golden ${golden.scores[name]![h]![i]}, now ${scores[name]![h]![i]}`),
            `${name} ${h} (${mode}) differs from the golden scores of semantics version ${golden.semantics}: a change to the scores needs a SCORING_SEMANTICS_VERSION bump (see this file's header)`,
          ).toEqual([]);
        }
      }
    }
  }, 120_000);
});

/** Every node renamed; with `tensors`, every tensor that is not a graph input, output or initializer too. */
function renamed(model: Model, prefix: string, tensors: boolean): Model {
  const keep = new Set([...model.graph.inputs.map((v) => v.name), ...model.graph.outputs.map((v) => v.name), ...model.graph.initializers.keys()]);
  const name = (t: string) => (!tensors || t === '' || keep.has(t) ? t : `${prefix}t/${t}`);
  return {
    ...model,
    graph: {
      ...model.graph,
      nodes: model.graph.nodes.map((n, i) => ({ ...n, name: `${prefix}n${i}`, inputs: n.inputs.map(name), outputs: n.outputs.map(name) })),
    },
  };
}

describe.each(MODELS)('%s: the shipped calibration across a compiler release that only renames', (name) => {
  it('the fingerprint ignores node names; a scoring graph with every internal name changed gives the same scores', async () => {
    const pkg = await loadModelPackage(join('models', name));
    const model = await loadModel(pkg.modelPath);
    const shipped = JSON.parse(readFileSync(join('calibration', `${name}.json`), 'utf8')) as { taps: string };
    // The exporter of the next release names nodes differently: same fingerprint, the calibration loads.
    const fingerprint = modelFingerprint(renamed(model, 'next-exporter/', false), shipped.taps, pkg.manifest);
    expect(fingerprint).toBe(modelFingerprint(model, shipped.taps, pkg.manifest));
    await expect(loadCalibration(join('calibration', `${name}.json`), { model: name, fingerprint })).resolves.toMatchObject({ model: name });

    // The compiler of the next release names its nodes and tensors differently: same scores.
    const compiled = compileScoringGraph(model, { taps: shipped.taps, heads: ['logits', ...HEADS] }).model;
    const other = renamed(compiled, 'gaia-next/', true);
    expect(other.graph.nodes.map((n) => n.name)).not.toEqual(compiled.graph.nodes.map((n) => n.name));
    const pre = new Preprocessor(pkg.manifest, loadConfig({ env: {} }).frames);
    const set = firstOf(await openFrameSet(join('models', name, 'samples', 'ood')), 8);
    const input = new Float32Array(8 * pre.elementsPerFrame);
    let i = 0;
    for await (const item of set.items()) if (item.kind === 'encoded') await pre.decodeInto(item.bytes, input.subarray(i++ * pre.elementsPerFrame, i * pre.elementsPerFrame));
    expect(i).toBe(8);
    const shape = [8, ...(pkg.manifest.input.shape.slice(1) as number[])];
    const [a, b] = [await runModel(compiled, { data: input, shape }), await runModel(other, { data: input, shape })];
    for (const h of HEADS) expect(Array.from(b[h]!.data), h).toEqual(Array.from(a[h]!.data));
  }, 60_000);
});
