/**
 * Checking a calibration file against the model it is loaded for: every number the verdicts
 * use (naming the field), the verdict head, and the model fingerprint. The judge is built
 * once, by the check that proves it can be built.
 */
import { isInputHead } from '../contracts/input-stats.js';
import { isNearConstant, type HeadCalibration } from '../detect/calibration.js';
import { InputAwareJudge, type InputReference } from '../detect/input-heads.js';
import { COMBINE_RULES, combinerOf, decodeFloats, HeadJudge, ReferenceScores, VerdictRule, type Judge } from '../detect/verdict-rule.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { readCalibrationJson, type CalibrationFile } from './calibration-file.js';
import { inputReferencesOf, typicalityReference } from './input-calibration.js';

/** The model a calibration must have been made for, and the head that judges alone (model.verdictHead), if any. */
export interface ExpectedModel {
  readonly model: string;
  readonly fingerprint: string;
  readonly head?: string;
}

/**
 * What judges frames with this calibration: the head `head` alone when one is given
 * (model.verdictHead), else the file's verdict rule, else (older files) its primary head.
 * Every number it judges with is checked, naming the field.
 */
export function judgeOf(path: string, c: CalibrationFile, head?: string): Judge {
  // Each input head's raw values decoded and checked once, for its reference scores and for the judge.
  const inputRefs = new Map<string, InputReference>();
  const inputReference = (name: string): InputReference => {
    let ref = inputRefs.get(name);
    if (!ref) inputRefs.set(name, (ref = inputReferencesOf(path, c, [name]).get(name)!));
    return ref;
  };
  const reference = (name: string, h: HeadCalibration): ReferenceScores | undefined => {
    // An input head's reference follows from its raw values: newer calibrations leave it out, older ones carry it.
    if (h.reference === undefined && isInputHead(name)) return new ReferenceScores(typicalityReference(inputReference(name)));
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
    const h = isInputHead(name) ? c.inputHeads?.[name] : c.heads[name];
    if (!h) throw badCalibration(path, 'verdict.heads', `heads calibrated in the file (${name} is not)`);
    // An input head's typicality ties on a grey or constant statistic (p0 up to 100%): it judges by its p-values only.
    if (!isInputHead(name)) validateHead(path, name, h);
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
  const combiner = combinerOf(v, c.data.frames);
  if (!combiner) {
    throw v.combine === 'fisher-weighted'
      ? badCalibration(path, 'verdict.weights', `${v.heads.length} finite weights ≥ 0, one per verdict head`)
      : badCalibration(path, 'verdict.guard', `{fisher, minP}: each ${c.data.frames} sorted finite float64 values (base64)`);
  }
  const rule = new VerdictRule(combiner, ruleHeads, v.threshold, v.flagRate, new ReferenceScores(statistics));
  const inputs = new Map(v.heads.filter(isInputHead).map((name) => [name, inputReference(name)]));
  return inputs.size > 0 ? new InputAwareJudge(rule, inputs) : rule;
}

function isSortedFinite(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!) || (i > 0 && values[i]! < values[i - 1]!)) return false;
  return true;
}

function badCalibration(path: string, field: string, allowed: string): GaiaError {
  return new GaiaError(ErrorCodes.BAD_CONFIG, `${path}: ${field} is not ${allowed}; recalibrate with gaia-sentinel calibrate`);
}

/** `head`: the head verdicts will use (default the file's verdict rule, else its primary head); it must be there and sound. */
export async function loadCalibration(path: string, expected: ExpectedModel): Promise<CalibrationFile> {
  const c = await readCalibrationJson(path);
  checkCalibration(path, c, expected);
  return c;
}

/** Checks a read calibration against the model and returns its judge: the head's numbers, the judge's, then the fingerprint. */
export function checkCalibration(path: string, c: CalibrationFile, expected: ExpectedModel): Judge {
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
  // Built (and so checked) before anyone relies on the file.
  const judge = judgeOf(path, c, expected.head);
  if (c.fingerprint !== expected.fingerprint) {
    throw new GaiaError(
      ErrorCodes.CALIBRATION_MISMATCH,
      `${path} was made for model "${c.model}" (fingerprint ${c.fingerprint.slice(0, 12)}…, taps ${c.taps}, created ${c.createdAt}), ` +
        `but the loaded model "${expected.model}" has fingerprint ${expected.fingerprint.slice(0, 12)}…; ` +
        `recalibrate with: gaia-sentinel calibrate --model <model dir> --data <ID calibration set>`,
    );
  }
  return judge;
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

