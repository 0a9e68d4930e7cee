/**
 * A verdict as evidence: the record's numbers, which head fired, GAIA-Z's zero ratio per
 * tap (from the gaia_z_ratios head, when compiled) and the frame's saliency map (from the
 * saliency head, when compiled). Which extra heads evidence asks the compiler for is
 * decided in one place, evidenceHeads().
 */
import type { EvidenceFrame } from '../contracts/evidence.js';
import type { VerdictRecord } from '../contracts/events.js';
import type { ScoreBatch } from '../runtime/scorer.js';

/** A frame's saliency: values in [0, 1] over the model's view, row-major [height, width]. */
export interface SaliencyMap {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
}

/** The per-frame head that carries saliency maps. */
export const SALIENCY_HEAD = 'saliency';

/**
 * The heads evidence needs besides the ones that judge: the per-tap zero ratios, and the
 * saliency map once the compiler offers that head (`known`: the compiler's HEAD_NAMES).
 */
export function evidenceHeads(known: readonly string[]): string[] {
  return ['gaia_z_ratios', ...(known.includes(SALIENCY_HEAD) ? [SALIENCY_HEAD] : [])];
}

/** The judging head with the smallest p-value (the first on ties). */
export function firedBy(pValues: Readonly<Record<string, number>> | undefined): string | undefined {
  let best: string | undefined;
  for (const [head, p] of Object.entries(pValues ?? {})) if (best === undefined || p < pValues![best]!) best = head;
  return best;
}

/** Each tap's mean zero ratio, from frame i's row of gaia_z_ratios ([frames, Σ channels]). */
export function layerZeroRatios(out: ScoreBatch, i: number, tapChannels: readonly number[]): number[] | undefined {
  const ratios = out.scores.gaia_z_ratios;
  const total = tapChannels.reduce((a, b) => a + b, 0);
  if (!ratios || total === 0 || ratios.length !== out.size * total) return undefined;
  let at = i * total;
  return tapChannels.map((c) => {
    let sum = 0;
    for (let k = 0; k < c; k++) sum += ratios[at + k]!;
    at += c;
    return sum / c;
  });
}

/**
 * Frame i's saliency map, when the batch carries one. Its [height, width] is the scorer's own
 * per-frame shape of the head when it reports one, else `shape` (the last tap's), else square.
 */
export function saliencyOf(out: ScoreBatch, i: number, shape?: readonly [number, number]): SaliencyMap | undefined {
  const all = out.scores[SALIENCY_HEAD];
  if (!all || out.size === 0) return undefined;
  const per = all.length / out.size;
  const side = Math.round(Math.sqrt(per));
  const reported = out.frameShapes?.[SALIENCY_HEAD];
  const [height, width] = reported?.length === 2 ? [reported[0]!, reported[1]!] : (shape ?? [side, side]);
  if (height * width !== per || per === 0) return undefined;
  return { data: all.subarray(i * per, (i + 1) * per), height, width };
}

export function evidenceFrame(r: VerdictRecord, out: ScoreBatch, i: number, tapChannels: readonly number[]): EvidenceFrame {
  const fired = firedBy(r.pValues);
  const ratios = layerZeroRatios(out, i, tapChannels);
  return {
    frameId: r.frameId,
    ...(r.topic === undefined ? {} : { topic: r.topic }),
    ...(r.partition === undefined ? {} : { partition: r.partition }),
    ...(r.offset === undefined ? {} : { offset: r.offset }),
    ...(r.capturedAt === undefined ? {} : { capturedAt: r.capturedAt }),
    scoredAt: r.scoredAt,
    flagged: r.flagged,
    head: r.head,
    score: r.score,
    ...(r.pValue === undefined ? {} : { pValue: r.pValue }),
    ...(r.pValues === undefined ? {} : { pValues: r.pValues }),
    ...(fired === undefined ? {} : { firedBy: fired }),
    predictedClass: r.predictedClass,
    confidence: r.confidence,
    ...(ratios ? { layerZeroRatios: ratios } : {}),
  };
}
