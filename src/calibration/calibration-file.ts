/**
 * calibration/<model>.json: what `gaia-sentinel calibrate` writes and the agent loads.
 * Loading checks the fingerprint, so a calibration is never applied to scores it was not
 * made for.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureStats } from '../compile/feature-stats.js';
import { METHOD_HEADS, STATS_HEADS, type HeadName } from '../compile/heads.js';
import { isNearConstant, type HeadCalibration } from '../detect/calibration.js';
import { COMBINE_RULES, decodeFloats, HeadJudge, ReferenceScores, VerdictRule, type Judge, type StoredVerdictRule } from '../detect/verdict-rule.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { writeOutput } from '../files.js';

export const CALIBRATION_FORMAT = 'gaia-sentinel/calibration@1';

export interface CalibrationFile {
  readonly format: typeof CALIBRATION_FORMAT;
  readonly model: string;
  readonly fingerprint: string;
  readonly taps: string;
  readonly createdAt: string;
  readonly data: { readonly source: string; readonly frames: number; readonly rejected: number };
  /** The head verdicts use when the file has no verdict rule (calibrations before 0.2). */
  readonly primaryHead: string;
  /** The verdict rule: heads combined by their p-values (docs/DEFINITIONS.md#the-verdict-rule). */
  readonly verdict?: StoredVerdictRule;
  readonly heads: Readonly<Record<string, HeadCalibration>>;
  /** Statistics of ID training features for the react and mahalanobis heads (calibrate --stats-data). */
  readonly featureStats?: StoredFeatureStats;
}

/** FeatureStats as JSON, with where they came from and a digest of their numbers. */
export interface StoredFeatureStats {
  readonly source: string;
  readonly frames: number;
  /** The model fingerprint they were estimated with (the calibration's own). */
  readonly fingerprint: string;
  /** sha256 of the numbers below: a hand-edited or truncated file is refused. */
  readonly digest: string;
  readonly reactThreshold: number;
  readonly numClasses: number;
  readonly dim: number;
  readonly classMeans: readonly number[];
  readonly precision: readonly number[];
}

function statsDigest(s: Pick<FeatureStats, 'reactThreshold' | 'numClasses' | 'dim'> & { classMeans: ArrayLike<number>; precision: ArrayLike<number> }): string {
  const h = createHash('sha256').update(JSON.stringify([s.reactThreshold, s.numClasses, s.dim]));
  h.update(new Uint8Array(Float32Array.from(s.classMeans).buffer)).update(new Uint8Array(Float32Array.from(s.precision).buffer));
  return h.digest('hex');
}

export function storeFeatureStats(stats: FeatureStats, from: { source: string; frames: number; fingerprint: string }): StoredFeatureStats {
  return {
    ...from,
    digest: statsDigest(stats),
    reactThreshold: stats.reactThreshold,
    numClasses: stats.numClasses,
    dim: stats.dim,
    classMeans: Array.from(stats.classMeans),
    precision: Array.from(stats.precision),
  };
}

/** The feature statistics of a loaded calibration, checked; undefined when it has none. */
export function featureStatsOf(path: string, c: CalibrationFile): FeatureStats | undefined {
  const s = c.featureStats;
  if (!s) return undefined;
  const fail = (why: string): never => {
    throw new GaiaError(ErrorCodes.FEATURE_STATS, `${path}: featureStats ${why}; recompute them with gaia-sentinel calibrate --stats-data TRAINING_SET`);
  };
  if (s.fingerprint !== c.fingerprint) fail(`were made for fingerprint ${String(s.fingerprint).slice(0, 12)}…, not the calibration's ${c.fingerprint.slice(0, 12)}…`);
  if (!Array.isArray(s.classMeans) || !Array.isArray(s.precision) || s.classMeans.length !== s.numClasses * s.dim || s.precision.length !== s.dim * s.dim) {
    fail(`do not hold ${s.numClasses}×${s.dim} class means and a ${s.dim}×${s.dim} precision matrix`);
  }
  if (![s.reactThreshold, ...s.classMeans, ...s.precision].every(Number.isFinite)) fail('hold a value that is not a finite number');
  if (statsDigest(s) !== s.digest) fail('do not match their digest (the file was edited or truncated)');
  return { reactThreshold: s.reactThreshold, numClasses: s.numClasses, dim: s.dim, classMeans: Float32Array.from(s.classMeans), precision: Float32Array.from(s.precision) };
}

/** Where a model's calibration lives unless configured otherwise: calibration/<model name>.json. */
export const defaultCalibrationPath = (model: string): string => join('calibration', `${model}.json`);

export async function saveCalibration(path: string, calibration: CalibrationFile): Promise<void> {
  // Indented for people, but a list of numbers on one line: a precision matrix one number per
  // line would make the file several times larger (a Kubernetes ConfigMap holds at most 1 MiB).
  const text = JSON.stringify(calibration, null, 2).replace(/\[\n\s*(-?[\d.eE+-]+(?:,\n\s*-?[\d.eE+-]+)*)\n\s*\]/g, (_, list: string) => `[${list.replace(/,\n\s*/g, ', ')}]`);
  await writeOutput(path, `${text}\n`);
}

/**
 * The feature statistics stored in a calibration file, before a scorer exists to check its
 * fingerprint against (the statistics are compiled into that scorer). Callers then load the
 * file with loadCalibration, which checks the fingerprint the statistics are tied to.
 */
export async function readFeatureStats(path: string): Promise<FeatureStats> {
  return requiredStats(path, await readCalibrationJson(path));
}

function requiredStats(path: string, c: CalibrationFile): FeatureStats {
  const stats = featureStatsOf(path, c);
  if (!stats) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `${path} has no feature statistics, which react and mahalanobis need; recalibrate with gaia-sentinel calibrate --model DIR --data CALIBRATION_SET --stats-data TRAINING_SET`,
    );
  }
  return stats;
}

/** What must be compiled into a scorer before a calibration can judge with it. */
export interface ScorerNeeds {
  /** The heads its judge reads: the verdict rule's, or `head` alone. */
  readonly judgeHeads: readonly HeadName[];
  /** Its feature statistics, when those heads or `alsoHeads` include react or mahalanobis. */
  readonly featureStats?: FeatureStats;
}

/**
 * One read of a calibration before a scorer exists: the heads its judge reads (`head` alone
 * when given: model.verdictHead), checked to be score heads, and the feature statistics
 * they (or `alsoHeads`) need. undefined when there is no file at `path` and nothing needs
 * its statistics.
 */
export async function readScorerNeeds(path: string, head: string | undefined, alsoHeads: readonly HeadName[] = []): Promise<ScorerNeeds | undefined> {
  const needStats = (heads: readonly string[]) => [...heads, ...alsoHeads].some((h) => (STATS_HEADS as readonly string[]).includes(h));
  let c: CalibrationFile;
  try {
    c = await readCalibrationJson(path);
  } catch (err) {
    const missing = (err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT';
    if (missing && !(head && needStats([head]))) return undefined;
    throw err;
  }
  const names = head ? [head] : (c.verdict?.heads ?? [c.primaryHead]);
  const unknown = names.filter((h) => !(METHOD_HEADS as readonly string[]).includes(h));
  if (unknown.length > 0) {
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `${head ? 'model.verdictHead' : `${path}: verdict.heads`} names ${unknown.join(', ')}, which is not a score head (${METHOD_HEADS.join(', ')}); ` +
        (head ? 'choose one of them' : 'recalibrate with gaia-sentinel calibrate'),
    );
  }
  const judgeHeads = names as HeadName[];
  return { judgeHeads, ...(needStats(judgeHeads) ? { featureStats: requiredStats(path, c) } : {}) };
}

async function readCalibrationJson(path: string): Promise<CalibrationFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new GaiaError(ErrorCodes.IO, `cannot read calibration ${path}: ${(cause as Error).message}`, { cause });
  }
  const c = raw as CalibrationFile;
  if (c?.format !== CALIBRATION_FORMAT || typeof c.fingerprint !== 'string' || !c.heads?.[c.primaryHead]) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${path} is not a ${CALIBRATION_FORMAT} file; write one with gaia-sentinel calibrate`);
  }
  return c;
}

/**
 * What judges frames with this calibration: the head `head` alone when one is given
 * (model.verdictHead), else the file's verdict rule, else (older files) its primary head.
 * Every number it judges with is checked, naming the field.
 */
export function judgeOf(path: string, c: CalibrationFile, head?: string): Judge {
  const reference = (name: string, h: HeadCalibration): ReferenceScores | undefined => {
    if (h.reference === undefined) return undefined;
    const values = decodeFloats(h.reference, 'f32');
    if (!values || values.length !== c.data.frames || !isSortedFinite(values)) {
      throw badCalibration(path, `heads.${name}.reference`, `${c.data.frames} sorted finite float32 values (base64)`);
    }
    return new ReferenceScores(values);
  };
  if (head || !c.verdict) {
    const name = head ?? c.primaryHead;
    const h = c.heads[name]!;
    return new HeadJudge(name, h, reference(name, h));
  }
  const v = c.verdict;
  if (!(COMBINE_RULES as readonly string[]).includes(v.combine)) throw badCalibration(path, 'verdict.combine', `one of ${COMBINE_RULES.join(', ')}`);
  if (!Array.isArray(v.heads) || v.heads.length === 0) throw badCalibration(path, 'verdict.heads', 'a non-empty list of calibrated heads');
  const ruleHeads = v.heads.map((name) => {
    const h = c.heads[name];
    if (!h) throw badCalibration(path, 'verdict.heads', `heads calibrated in the file (${name} is not)`);
    validateHead(path, name, h);
    const ref = reference(name, h);
    if (!ref) throw badCalibration(path, `heads.${name}.reference`, 'present: the verdict rule needs every head\'s reference scores');
    return { name, sign: h.sign, reference: ref };
  });
  if (!(typeof v.threshold === 'number' && Number.isFinite(v.threshold))) throw badCalibration(path, 'verdict.threshold', 'a finite number');
  if (!(typeof v.flagRate === 'number' && v.flagRate > 0 && v.flagRate < 1)) throw badCalibration(path, 'verdict.flagRate', 'a number strictly between 0 and 1 (the baseline flag rate p0)');
  const statistics = typeof v.reference === 'string' ? decodeFloats(v.reference, 'f64') : undefined;
  if (!statistics || statistics.length !== c.data.frames || !isSortedFinite(statistics)) {
    throw badCalibration(path, 'verdict.reference', `${c.data.frames} sorted finite float64 values (base64)`);
  }
  return new VerdictRule(v.combine, ruleHeads, v.threshold, v.flagRate, new ReferenceScores(statistics));
}

function isSortedFinite(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!) || (i > 0 && values[i]! < values[i - 1]!)) return false;
  return true;
}

function badCalibration(path: string, field: string, allowed: string): GaiaError {
  return new GaiaError(ErrorCodes.BAD_CONFIG, `${path}: ${field} is not ${allowed}; recalibrate with gaia-sentinel calibrate`);
}

/** `head`: the head verdicts will use (default the file's verdict rule, else its primary head); it must be there and sound. */
export async function loadCalibration(path: string, expected: { model: string; fingerprint: string; head?: string }): Promise<CalibrationFile> {
  const c = await readCalibrationJson(path);
  const head = expected.head ?? c.primaryHead;
  const h = c.heads[head];
  if (!h) {
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `${path} has no threshold for the verdict head "${head}" (model.verdictHead, env GAIA_MODEL_VERDICT_HEAD; it has ${Object.keys(c.heads).join(', ')}): ` +
        `recalibrate with gaia-sentinel calibrate --methods ${head}${head === 'gaia_z' ? '' : ',gaia_z'}`,
    );
  }
  validateHead(path, head, h);
  // Builds (and so checks) the judge before anyone relies on the file.
  judgeOf(path, c, expected.head);
  if (c.fingerprint !== expected.fingerprint) {
    throw new GaiaError(
      ErrorCodes.CALIBRATION_MISMATCH,
      `${path} was made for model "${c.model}" (fingerprint ${c.fingerprint.slice(0, 12)}…, taps ${c.taps}, created ${c.createdAt}), ` +
        `but the loaded model "${expected.model}" has fingerprint ${expected.fingerprint.slice(0, 12)}…; ` +
        `recalibrate with: gaia-sentinel calibrate --model <model dir> --data <ID calibration set>`,
    );
  }
  return c;
}

/**
 * The numbers verdicts and drift are computed from: a hand-edited or corrupted file must stop
 * startup naming the field, not produce NaN verdicts or a drift test that fires on every frame.
 */
function validateHead(path: string, name: string, h: HeadCalibration): void {
  const bad = (field: string, value: unknown, allowed: string) => {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${path}: heads.${name}.${field} is ${JSON.stringify(value)}; it must be ${allowed} (recalibrate with gaia-sentinel calibrate)`);
  };
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (h.sign !== 1 && h.sign !== -1) bad('sign', h.sign, '1 or -1');
  if (!finite(h.threshold)) bad('threshold', h.threshold, 'a finite number');
  if (!finite(h.rawThreshold)) bad('rawThreshold', h.rawThreshold, 'a finite number');
  if (finite(h.threshold) && finite(h.rawThreshold) && Math.abs(h.sign * h.threshold - h.rawThreshold) > 1e-9 * Math.max(1, Math.abs(h.rawThreshold))) {
    bad('rawThreshold', h.rawThreshold, `sign × threshold (${h.sign * h.threshold})`);
  }
  if (h.flagRate === 1 && h.quantiles && isNearConstant(h)) {
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `${path}: heads.${name} flags every calibration frame (p0 = 100%): the head gave nearly one score to all of them ` +
        `(q05 ${h.quantiles.q05}, q95 ${h.quantiles.q95}) and cannot judge this model; judge with another head (model.verdictHead) or recalibrate the rule without it (calibrate --verdict-heads)`,
    );
  }
  if (!(finite(h.flagRate) && h.flagRate > 0 && h.flagRate < 1)) bad('flagRate', h.flagRate, 'a number strictly between 0 and 1 (the baseline flag rate p0)');
}

