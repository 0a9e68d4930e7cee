/**
 * calibration/<model>.json: what `gaia-sentinel calibrate` writes and the agent loads.
 * Loading checks the fingerprint, so a calibration is never applied to scores it was not
 * made for.
 */
import { readFile } from 'node:fs/promises';
import type { HeadCalibration } from '../detect/calibration.js';
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
  /** The head verdicts use. */
  readonly primaryHead: string;
  readonly heads: Readonly<Record<string, HeadCalibration>>;
}

export async function saveCalibration(path: string, calibration: CalibrationFile): Promise<void> {
  await writeOutput(path, `${JSON.stringify(calibration, null, 2)}\n`);
}

export async function loadCalibration(path: string, expected: { model: string; fingerprint: string }): Promise<CalibrationFile> {
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
  validateHead(path, c.primaryHead, c.heads[c.primaryHead]!);
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
  if (!(finite(h.flagRate) && h.flagRate > 0 && h.flagRate < 1)) bad('flagRate', h.flagRate, 'a number strictly between 0 and 1 (the baseline flag rate p0)');
}

