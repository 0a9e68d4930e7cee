/**
 * Input heads in the calibration file (docs/DEFINITIONS.md#input-heads): `calibrate` stores
 * each measurable input head's raw calibration values (what turns a new frame's raw value into
 * its typicality) and calibrates the calibration frames' own leave-one-out typicalities like
 * any head's ID-scores (sign +1, reference scores for the p-values and the verdict rule);
 * loading turns the stored values back into references, checked. The typicalities' sorted
 * reference is not stored: it follows from the values, exactly, and leaving it out halves what
 * each input head adds to a file that must fit a ConfigMap.
 */
import { INPUT_HEADS, isInputHead } from '../contracts/input-stats.js';
import { calibrateHead, DEFAULT_CALIBRATE_OPTIONS, type CalibrateOptions, type HeadCalibration } from '../detect/calibration.js';
import { INPUT_HEAD_SIDES, InputReference, measurable } from '../detect/input-heads.js';
import { decodeFloats, encodeFloats } from '../detect/verdict-rule.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { CalibrationFile, StoredInputHead } from './calibration-file.js';

export interface InputCalibration {
  /** Per input head, what the file stores: its calibration of typicalities (ID-score = typicality, higher = more typical) and its raw values. */
  readonly stored: Record<string, StoredInputHead>;
  /** Every calibration frame's typicality per head, in frame order: the verdict rule's ID-scores. */
  readonly idScores: Record<string, Float64Array>;
  /** Input heads left out, and why (raw frames have no encoded size). */
  readonly skipped: readonly string[];
}

/** The input heads of a scored calibration set (`raw[head]`, one value per frame). */
export function calibrateInputHeads(raw: Readonly<Record<string, ArrayLike<number>>>, options: CalibrateOptions = DEFAULT_CALIBRATE_OPTIONS): InputCalibration {
  const stored: Record<string, StoredInputHead> = {};
  const idScores: Record<string, Float64Array> = {};
  const skipped: string[] = [];
  for (const head of INPUT_HEADS) {
    const values = raw[head];
    if (!values) continue;
    if (!measurable(values)) {
      skipped.push(`${head}: not measured on every calibration frame (raw pixels have no encoded size), not calibrated`);
      continue;
    }
    // The values as stored (float32), so a reloaded reference ranks exactly as this one.
    const f32 = Float32Array.from(values);
    const ref = InputReference.fromValues(head, f32);
    idScores[head] = ref.calibrationTypicalities(f32);
    const { reference: _derived, ...calibration }: HeadCalibration = calibrateHead(idScores[head], 1, options);
    stored[head] = { ...calibration, sides: INPUT_HEAD_SIDES[head], values: encodeFloats(ref.sorted, 'f32') };
  }
  return { stored, idScores, skipped };
}

/**
 * The sorted leave-one-out typicalities of the calibration frames, as `calibrate` ranked them
 * (its reference scores, float32 as a stored reference is): derived from the raw values.
 */
export function typicalityReference(ref: InputReference): Float64Array {
  return Float64Array.from(Float32Array.from(ref.calibrationTypicalities(ref.sorted))).sort();
}

/** The references of the input heads `names` (those of them that are input heads), checked against the file. */
export function inputReferencesOf(path: string, c: CalibrationFile, names: readonly string[]): Map<string, InputReference> {
  const refs = new Map<string, InputReference>();
  for (const head of names.filter(isInputHead)) {
    const s = c.inputHeads?.[head];
    const bad = (what: string) =>
      new GaiaError(ErrorCodes.BAD_CONFIG, `${path}: inputHeads.${head} ${what}; recalibrate with gaia-sentinel calibrate on encoded frames of the cameras`);
    if (!s) throw bad('is missing, which the verdict rule combines');
    if (s.sides !== INPUT_HEAD_SIDES[head]) throw bad(`has sides "${String(s.sides)}", not "${INPUT_HEAD_SIDES[head]}" as this version defines the head`);
    const values = typeof s.values === 'string' ? decodeFloats(s.values, 'f32') : undefined;
    if (!values || values.length !== c.data.frames || !values.every((v, i) => Number.isFinite(v) && (i === 0 || v >= values[i - 1]!))) {
      throw bad(`values are not ${c.data.frames} sorted finite float32 values (base64)`);
    }
    refs.set(head, new InputReference(head, values));
  }
  return refs;
}
