/**
 * Which calibration judged a verdict: sha256 of the calibration's content (re-serialised, so
 * whitespace edits keep it) and its creation time, as every verdict and event carries it.
 */
import { createHash } from 'node:crypto';
import type { CalibrationRef } from '../contracts/events.js';
import type { CalibrationFile } from './calibration-file.js';

export function calibrationRef(c: CalibrationFile): CalibrationRef {
  return { digest: createHash('sha256').update(JSON.stringify(c)).digest('hex'), createdAt: c.createdAt };
}
