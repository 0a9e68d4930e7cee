/**
 * calibration/<model>.json: what `gaia-sentinel calibrate` writes and the agent loads.
 * Loading checks the fingerprint, so a calibration is never applied to scores it was not
 * made for.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HeadCalibration } from '../detect/calibration.js';
import { ErrorCodes, GaiaError } from '../errors.js';

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
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(calibration, null, 2)}\n`);
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
