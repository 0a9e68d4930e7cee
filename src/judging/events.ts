/**
 * Every alert kind the judging stage emits, each built by one function (docs/EVENTS.md): a
 * flagged frame, a drift episode starting or ending, an episode ended by its source's
 * silence, drift state that could not follow its source, and a replaced calibration. The field order is the published JSON's.
 */
import type { DriftEvent, SilentEpisode } from '../contracts/drift.js';
import type {
  CalibrationChangedEvent,
  CalibrationRef,
  DriftAlert,
  DriftResetEvent,
  DriftSilentEvent,
  FrameOodEvent,
  FrameOrigin,
  FrameRef,
  Provenance,
  VerdictRecord,
} from '../contracts/events.js';

/** A frame's stream coordinates, only those it has. */
function originOf(r: FrameOrigin): FrameOrigin {
  return {
    ...(r.topic === undefined ? {} : { topic: r.topic }),
    ...(r.partition === undefined ? {} : { partition: r.partition }),
    ...(r.offset === undefined ? {} : { offset: r.offset }),
  };
}

/** A verdict's frame: its id and stream coordinates, for the events it causes. */
export function frameRef(r: VerdictRecord): FrameRef {
  return { frameId: r.frameId, ...originOf(r) };
}

/** The frame-ood event of a flagged frame: its verdict record with the threshold it reached. */
export function frameOodEvent(r: VerdictRecord, threshold: number): FrameOodEvent {
  const { topic: _t, partition: _p, offset: _o, source, frameId, head, score, flagged: _f, ...judged } = r;
  return { type: 'frame-ood', ...originOf(r), source, frameId, head, score, threshold, ...judged };
}

/**
 * A drift episode started or ended; the frame that tipped the window identifies it (its id) and lets a consumer find it,
 * and the episode's evidence page shows its frames (when evidence is on).
 */
export function driftAlert(episode: DriftEvent, trigger: VerdictRecord, evidenceUrl?: string): DriftAlert {
  return {
    ...episode,
    model: trigger.model,
    modelFingerprint: trigger.modelFingerprint,
    calibration: trigger.calibration,
    trigger: frameRef(trigger),
    ...(evidenceUrl === undefined ? {} : { evidenceUrl }),
  };
}

/** A source's drift state could not follow it: its open episode (started at `startedAt`) ends here without a drift-resolved. */
export function driftStateReset(source: string, provenance: Provenance, startedAt: number | undefined, reason: string, ts: number): DriftResetEvent {
  return { type: 'drift-state-reset', source, ...provenance, ...(startedAt === undefined ? {} : { startedAt }), reason, ts };
}

/** An open episode ended because its source sent nothing for `silenceMs`: it went quiet, it did not recover. */
export function driftSilent(e: SilentEpisode, provenance: Provenance, silenceMs: number, ts: number): DriftSilentEvent {
  return {
    type: 'drift-silent',
    source: e.source,
    ...provenance,
    startedAt: e.startedAt,
    lastFrameAt: e.lastFrameAt,
    silenceMs,
    window: e.window,
    flagged: e.flagged,
    rate: e.rate,
    p0: e.p0,
    ts,
  };
}

/** The running agent replaced its calibration: verdicts and drift baselines change from here on. */
export function calibrationChanged(
  model: { readonly model: string; readonly modelFingerprint: string },
  previous: CalibrationRef | null,
  current: CalibrationRef,
  ts: number,
): CalibrationChangedEvent {
  return { type: 'calibration-changed', model: model.model, modelFingerprint: model.modelFingerprint, previous, current, ts };
}
