/**
 * The calibration-changed event (docs/EVENTS.md): published when a running agent replaces
 * its calibration, so consumers know verdicts and drift baselines changed from then on.
 */
import type { CalibrationChangedEvent, CalibrationRef } from '../contracts/events.js';

export function calibrationChanged(
  model: { readonly model: string; readonly modelFingerprint: string },
  previous: CalibrationRef | null,
  current: CalibrationRef,
  ts: number,
): CalibrationChangedEvent {
  return { type: 'calibration-changed', model: model.model, modelFingerprint: model.modelFingerprint, previous, current, ts };
}
