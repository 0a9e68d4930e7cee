/**
 * The verdict of each frame of a scored batch, pure: its score (the judge's statistic, or a
 * head's raw score while nothing judges), whether it is flagged, the p-values that say which
 * head fired, the predicted class, and the provenance every record carries.
 */
import type { SourceMessage } from '../contracts/stream.js';
import type { Provenance, VerdictRecord } from '../contracts/events.js';
import { inputSummary } from '../detect/input-heads.js';
import type { Judge } from '../detect/verdict-rule.js';
import { predictedClasses, type ScoreBatch } from '../runtime/scorer.js';

export interface VerdictContext {
  readonly labels: readonly string[];
  readonly numClasses: number;
  /** What judges (the verdict rule, or model.verdictHead's threshold); without it frames get scores but no verdicts. */
  readonly judge?: Judge;
  /** The head whose score records carry while there is no judge. */
  readonly head: string;
  readonly provenance: Provenance;
  /** Verdict time, ms since the epoch. */
  readonly scoredAt: number;
}

export function verdictRecords(messages: readonly SourceMessage[], out: ScoreBatch, c: VerdictContext): VerdictRecord[] {
  const classes = predictedClasses(out, c.numClasses);
  return messages.map((message, i) => {
    const j = c.judge?.judge(out.scores, i);
    // A rule's score is its combined statistic: the heads' own raw scores go beside it.
    const inputFault = j?.flagged ? inputSummary(j.pValues, (h) => out.scores[h]?.[i] ?? Number.NaN) : undefined;
    const judged = j
      ? {
          ...(j.pValue === undefined ? {} : { pValue: j.pValue }),
          ...(j.pValues === undefined ? {} : { pValues: j.pValues }),
          ...(c.judge!.name === 'verdict' ? { scores: Object.fromEntries(c.judge!.heads.map((h) => [h, out.scores[h]?.[i] ?? Number.NaN])) } : {}),
          ...(inputFault === undefined ? {} : { inputFault }),
        }
      : {};
    return {
      ...message.origin,
      source: message.source,
      frameId: message.frameId,
      head: c.judge?.name ?? c.head,
      score: j ? j.score : out.scores[c.head]![i]!,
      flagged: j?.flagged ?? false,
      ...judged,
      predictedClass: c.labels[classes[i]!] ?? String(classes[i]),
      confidence: out.scores.msp?.[i] ?? Number.NaN,
      ...(message.ts === undefined ? {} : { capturedAt: message.ts }),
      scoredAt: c.scoredAt,
      ...c.provenance,
    };
  });
}
