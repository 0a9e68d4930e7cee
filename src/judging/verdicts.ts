/**
 * The verdict stage, pure: a scored batch and its messages → one verdict record per frame
 * and a frame-ood event per flagged frame. Drift (stateful, per source) is fed from these
 * records by the pipeline.
 */
import type { Judge } from '../detect/verdict-rule.js';
import { predictedClasses, type ScoreBatch } from '../runtime/scorer.js';
import type { SourceMessage } from '../contracts/stream.js';
import type { CalibrationRef, FrameOodEvent, FrameRef, Provenance, VerdictRecord } from '../contracts/events.js';

export interface VerdictContext {
  readonly labels: readonly string[];
  readonly numClasses: number;
  readonly model: string;
  readonly fingerprint: string;
  /** What judges (the verdict rule, or model.verdictHead's threshold); without it frames get scores but no verdicts. */
  readonly judge?: Judge;
  /** The head whose score records carry while there is no judge. */
  readonly head: string;
  /** Which calibration file the judge comes from. */
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
    const j = c.judge?.judge(out.scores, i);
    const head = c.judge?.name ?? c.head;
    const score = j ? j.score : out.scores[c.head]![i]!;
    const flagged = j?.flagged ?? false;
    const captured = message.ts === undefined ? {} : { capturedAt: message.ts };
    // A rule's score is its combined statistic: the heads' own raw scores go beside it.
    const judged = j
      ? {
          ...(j.pValue === undefined ? {} : { pValue: j.pValue }),
          ...(j.pValues === undefined ? {} : { pValues: j.pValues }),
          ...(c.judge!.name === 'verdict' ? { scores: Object.fromEntries(c.judge!.heads.map((h) => [h, out.scores[h]![i]!])) } : {}),
        }
      : {};
    const record: VerdictRecord = {
      ...message.origin,
      source: message.source,
      frameId: message.frameId,
      head,
      score,
      flagged,
      ...judged,
      predictedClass: c.labels[classes[i]!] ?? String(classes[i]),
      confidence: out.scores.msp?.[i] ?? Number.NaN,
      ...captured,
      scoredAt: c.scoredAt,
      ...provenance,
    };
    records.push(record);
    alerts.push(
      flagged && c.judge
        ? {
            type: 'frame-ood',
            ...message.origin,
            source: message.source,
            frameId: message.frameId,
            head,
            score,
            threshold: c.judge.rawThreshold,
            ...judged,
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
