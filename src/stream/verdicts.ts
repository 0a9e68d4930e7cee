/**
 * The verdict stage, pure: a scored batch and its messages → one verdict record per frame
 * and a frame-ood event per flagged frame. Drift (stateful, per source) is fed from these
 * records by the pipeline.
 */
import { isFlagged, type HeadCalibration } from '../detect/calibration.js';
import { predictedClasses, type ScoreBatch } from '../runtime/scorer.js';
import type { SourceMessage } from './contracts.js';
import type { CalibrationRef, FrameOodEvent, FrameRef, Provenance, VerdictRecord } from './events.js';

export interface VerdictContext {
  readonly labels: readonly string[];
  readonly numClasses: number;
  readonly model: string;
  readonly fingerprint: string;
  /** The head that judges (model.verdictHead), and its calibration; without one frames get scores but no verdicts. */
  readonly head: string;
  readonly threshold?: HeadCalibration;
  /** Which calibration file the threshold comes from. */
  readonly calibration?: CalibrationRef;
  /** Verdict time, ms since the epoch. */
  readonly scoredAt: number;
}

export interface Verdicts {
  readonly records: VerdictRecord[];
  /** Aligned with records: the frame-ood event of each flagged frame, else undefined. */
  readonly alerts: Array<FrameOodEvent | undefined>;
}

export function judgeBatch(messages: readonly SourceMessage[], out: ScoreBatch, c: VerdictContext): Verdicts {
  const classes = predictedClasses(out, c.numClasses);
  const provenance: Provenance = { model: c.model, modelFingerprint: c.fingerprint, calibration: c.calibration ?? null };
  const records: VerdictRecord[] = [];
  const alerts: Array<FrameOodEvent | undefined> = [];
  messages.forEach((message, i) => {
    const score = out.scores[c.head]![i]!;
    const flagged = c.threshold ? isFlagged(score, c.threshold) : false;
    const captured = message.ts === undefined ? {} : { capturedAt: message.ts };
    const record: VerdictRecord = {
      ...message.origin,
      source: message.source,
      frameId: message.frameId,
      head: c.head,
      score,
      flagged,
      predictedClass: c.labels[classes[i]!] ?? String(classes[i]),
      confidence: out.scores.msp?.[i] ?? Number.NaN,
      ...captured,
      scoredAt: c.scoredAt,
      ...provenance,
    };
    records.push(record);
    alerts.push(
      flagged && c.threshold
        ? {
        type: 'frame-ood',
        ...message.origin,
        source: message.source,
        frameId: message.frameId,
        head: c.head,
        score,
        threshold: c.threshold.rawThreshold,
        predictedClass: record.predictedClass,
        confidence: record.confidence,
        ...captured,
        scoredAt: c.scoredAt,
        ...provenance,
      }
        : undefined,
    );
  });
  return { records, alerts };
}

/** A verdict's frame: its id and stream coordinates, for the events it causes. */
export function frameRef(r: VerdictRecord): FrameRef {
  return {
    frameId: r.frameId,
    ...(r.topic === undefined ? {} : { topic: r.topic }),
    ...(r.partition === undefined ? {} : { partition: r.partition }),
    ...(r.offset === undefined ? {} : { offset: r.offset }),
  };
}
