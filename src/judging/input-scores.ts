/**
 * The decode stage's input statistics joined to a scored batch: each input head becomes a
 * score array beside the scoring graph's heads, so a verdict rule reads input_exposure as it
 * reads gaia_z (docs/DEFINITIONS.md#input-heads).
 */
import { INPUT_HEADS, type InputStats } from '../contracts/input-stats.js';
import type { ScoreBatch } from '../runtime/scorer.js';

export function withInputScores(out: ScoreBatch, inputs: readonly InputStats[]): ScoreBatch {
  if (inputs.length !== out.size) throw new RangeError(`${inputs.length} frames' input statistics for a batch of ${out.size}`);
  const scores: Record<string, Float32Array> = { ...out.scores };
  for (const head of INPUT_HEADS) scores[head] = Float32Array.from(inputs, (s) => s.values[head]);
  return { ...out, scores };
}
