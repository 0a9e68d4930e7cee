/**
 * calibration/<model>.json, the file format: what `gaia-sentinel calibrate` writes and the
 * agent loads, and the feature statistics it carries. Loading checks the fingerprint
 * (calibration-check.ts), so a calibration is never applied to scores it was not made for.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureStats } from '../compile/feature-stats.js';
import type { HeadCalibration } from '../detect/calibration.js';
import type { StoredVerdictRule } from '../detect/verdict-rule.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { writeOutput } from '../files.js';
import { packageRoot } from '../version.js';
import { headStatsOf, storeHeadStats, updateHeadStatsDigest, type StoredHeadStats } from './head-stats-file.js';

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
  /** Statistics of ID training features for the react, mahalanobis, knn, fdbd and vim heads (calibrate --stats-data). */
  readonly featureStats?: StoredFeatureStats;
  /**
   * The input heads (docs/DEFINITIONS.md#input-heads): each one's calibration of typicalities
   * (as a head's), which values are a fault, and its raw calibration values (input-calibration.ts).
   */
  readonly inputHeads?: Readonly<Record<string, StoredInputHead>>;
  /** GAIA-Z's typical zero ratio per tap on the calibration frames, for the evidence pages (added in 0.x; optional). */
  readonly zeroRatios?: StoredZeroRatios;
}

/** The median over the calibration frames of each tap's zero ratio (the mean over its channels), first tap first. */
export interface StoredZeroRatios {
  readonly frames: number;
  readonly taps: readonly number[];
}

/** An input head: its calibration (of typicalities), its sides, and every calibration frame's raw value, sorted (float32, base64). */
export interface StoredInputHead extends HeadCalibration {
  readonly sides: 'two' | 'upper';
  readonly values: string;
}

/** FeatureStats as JSON, with where they came from and a digest of their numbers (the post-GAIA heads' in head-stats-file.ts). */
export interface StoredFeatureStats extends StoredHeadStats {
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

type DigestedStats = Pick<FeatureStats, 'reactThreshold' | 'numClasses' | 'dim' | 'knn' | 'featureMean' | 'vim'> & { classMeans: ArrayLike<number>; precision: ArrayLike<number> };

function statsDigest(s: DigestedStats): string {
  const h = createHash('sha256').update(JSON.stringify([s.reactThreshold, s.numClasses, s.dim]));
  h.update(new Uint8Array(Float32Array.from(s.classMeans).buffer)).update(new Uint8Array(Float32Array.from(s.precision).buffer));
  updateHeadStatsDigest(h, s);
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
    ...storeHeadStats(stats),
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
  const stats: FeatureStats = {
    reactThreshold: s.reactThreshold,
    numClasses: s.numClasses,
    dim: s.dim,
    classMeans: Float32Array.from(s.classMeans),
    precision: Float32Array.from(s.precision),
    ...headStatsOf(s, s.dim, fail),
  };
  if (statsDigest(stats) !== s.digest) fail('do not match their digest (the file was edited or truncated)');
  return stats;
}

/**
 * Where a model's calibration is unless configured otherwise: the package's own
 * calibration.json (what calibrate writes); else calibration/<model name>.json, in the
 * current folder (written by calibrate before 0.2) or as shipped with gaia-sentinel for its
 * bundled models. Without any, the package's calibration.json, where calibrate will write one.
 */
export function defaultCalibrationPath(model: string, packageDir?: string): string {
  const own = packageDir === undefined ? undefined : join(packageDir, CALIBRATION_IN_PACKAGE);
  const candidates = [own, join('calibration', `${model}.json`), join(packageRoot(), 'calibration', `${model}.json`)].filter((p): p is string => p !== undefined);
  return candidates.find((p) => existsSync(p)) ?? own ?? candidates[0]!;
}

/** A package's own calibration file. */
export const CALIBRATION_IN_PACKAGE = 'calibration.json';

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

/** The feature statistics react and mahalanobis need, or an error that says how to make them. */
export function requiredStats(path: string, c: CalibrationFile): FeatureStats {
  const stats = featureStatsOf(path, c);
  if (!stats) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `${path} has no feature statistics, which react, mahalanobis, knn, fdbd and vim need; recalibrate with gaia-sentinel calibrate --model DIR --data CALIBRATION_SET --stats-data TRAINING_SET`,
    );
  }
  return stats;
}

/** The file parsed, with its format checked (not yet its fingerprint or numbers). */
export async function readCalibrationJson(path: string): Promise<CalibrationFile> {
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

