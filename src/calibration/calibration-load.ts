/**
 * Loading a calibration for a model: one read of the file before the scoring graph is
 * compiled (what it needs compiled in), then one check against the compiled model, which
 * builds its judge. The agent, eval and calibrate share it.
 */
import type { FeatureStats } from '../compile/feature-stats.js';
import { METHOD_HEADS, STATS_HEADS, type HeadName } from '../compile/heads.js';
import type { CalibrationRef } from '../contracts/events.js';
import { isInputHead } from '../contracts/input-stats.js';
import type { Judge } from '../detect/verdict-rule.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { checkCalibration, type ExpectedModel } from './calibration-check.js';
import { readCalibrationJson, requiredStats, type CalibrationFile } from './calibration-file.js';
import { calibrationRef } from './calibration-identity.js';

/** What must be compiled into a scorer before a calibration can judge with it. */
export interface ScorerNeeds {
  /** The scoring graph's heads its judge reads: the verdict rule's (its input heads come from decoding, not the graph), or `head` alone. */
  readonly judgeHeads: readonly HeadName[];
  /** Its feature statistics, when those heads or `alsoHeads` include react or mahalanobis. */
  readonly featureStats?: FeatureStats;
}

/** A calibration file read once, before the scorer exists, with what that scorer must compute for it. */
export interface CalibrationReading {
  readonly path: string;
  readonly file: CalibrationFile;
  readonly needs: ScorerNeeds;
}

/**
 * The one read of a calibration: the file, the heads its judge reads (`head` alone when
 * given: model.verdictHead), checked to be score heads, and the feature statistics they (or
 * `alsoHeads`) need; a calibration of another `model` is refused as such. undefined when
 * there is no file at `path`, it is not `required`, and nothing needs its statistics. bindCalibration() then checks it against the compiled model
 * without reading it again.
 */
export async function readCalibration(
  path: string,
  head: string | undefined,
  alsoHeads: readonly HeadName[] = [],
  required = false,
  model?: string,
): Promise<CalibrationReading | undefined> {
  const needStats = (heads: readonly string[]) => [...heads, ...alsoHeads].some((h) => (STATS_HEADS as readonly string[]).includes(h));
  let c: CalibrationFile;
  try {
    c = await readCalibrationJson(path);
  } catch (err) {
    const missing = (err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT';
    if (missing && !required && !(head && needStats([head]))) return undefined;
    throw err;
  }
  // Another model's calibration says so first, before any of its contents are checked against this one.
  if (model !== undefined && c.model !== model) {
    throw new GaiaError(
      ErrorCodes.CALIBRATION_MISMATCH,
      `${path} is a calibration of model "${c.model}", not of "${model}" (created ${c.createdAt}): point calibration.path (--calibration) at ${model}'s own, or calibrate ${model} with gaia-sentinel calibrate`,
    );
  }
  // A rule may combine input heads (docs/DEFINITIONS.md#input-heads); they judge within a rule only.
  const names = head ? [head] : (c.verdict?.heads ?? [c.primaryHead]).filter((h) => !isInputHead(h));
  const unknown = names.filter((h) => !(METHOD_HEADS as readonly string[]).includes(h));
  if (unknown.length > 0) {
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `${head ? 'model.verdictHead' : `${path}: verdict.heads`} names ${unknown.join(', ')}, which is not a score head (${METHOD_HEADS.join(', ')}); ` +
        (head ? 'choose one of them' : 'recalibrate with gaia-sentinel calibrate'),
    );
  }
  const judgeHeads = names as HeadName[];
  return { path, file: c, needs: { judgeHeads, ...(needStats(judgeHeads) ? { featureStats: requiredStats(path, c) } : {}) } };
}


/** A calibration checked against the loaded model, ready to judge. */
export interface LoadedCalibration {
  readonly path: string;
  readonly file: CalibrationFile;
  /** What verdicts are judged with: the file's verdict rule, or model.verdictHead's threshold. */
  readonly judge: Judge;
  /** sha256 of the file's content and its creation time: tells two calibrations of the same model apart. */
  readonly ref: CalibrationRef;
}

/** Checks a reading against the compiled model (numbers, head, fingerprint) and builds its judge. */
export function bindCalibration(reading: Pick<CalibrationReading, 'path' | 'file'>, expected: ExpectedModel): LoadedCalibration {
  const { path, file } = reading;
  return { path, file, judge: checkCalibration(path, file, expected), ref: calibrationRef(file) };
}

/** Reads and checks a calibration in one go (a reload, or a file whose needs are already known). */
export async function loadCalibrationFor(path: string, expected: ExpectedModel): Promise<LoadedCalibration> {
  return bindCalibration({ path, file: await readCalibrationJson(path) }, expected);
}
