/**
 * Scores every frame of an offline set (calibration or evaluation data) with the scorer,
 * in batches, through the agent's preprocessing. A frame that cannot be decoded is either
 * skipped and reported, or stops the run naming the file, as the user chose.
 */
import { ErrorCodes, GaiaError } from '../errors.js';
import type { FrameSet } from '../frames/frame-set.js';
import { INPUT_HEADS, type InputStats } from '../contracts/input-stats.js';
import { decodeMeasured } from '../frames/frame-decoder.js';
import { measureRaw } from '../frames/measure-frame.js';
import { FrameError, type Preprocessor } from '../frames/preprocess.js';
import { predictedClasses, type Scorer } from '../runtime/scorer.js';

export type OnBadFrame = 'skip' | 'stop';

export interface SetScores {
  readonly name: string;
  readonly source: string;
  /** Frames scored. */
  readonly count: number;
  /** Per head (gaia_z, msp, ...), one value per scored frame. */
  readonly heads: Readonly<Record<string, Float32Array>>;
  /** Per input head (input_exposure, ...: measured at decoding, docs/DEFINITIONS.md#input-heads), one raw value per scored frame. */
  readonly inputs: Readonly<Record<string, Float32Array>>;
  /** Predicted class per scored frame. */
  readonly predictions: Int32Array;
  readonly rejected: ReadonlyArray<{ id: string; reason: string; message: string }>;
  /** The set's label of each scored frame, when it has labels. */
  readonly labels?: Int32Array;
  /** Top-1 accuracy against the set's labels, when it has them. */
  readonly accuracy?: number;
}

export interface ScoreSetOptions {
  readonly batch: number;
  readonly onBadFrame: OnBadFrame;
  /** Called after each batch with frames done and the set's size. */
  readonly progress?: (done: number, total: number) => void;
  /**
   * Heads handed over batch by batch instead of kept (too wide to hold for a whole set, such
   * as layer_moments): each batch's values of these heads, row-major [count, width].
   */
  readonly streamed?: { readonly heads: readonly string[]; readonly onBatch: (scores: Readonly<Record<string, Float32Array>>, count: number) => void };
}

export async function scoreSet(set: FrameSet, pre: Preprocessor, scorer: Scorer, options: ScoreSetOptions): Promise<SetScores> {
  const per = pre.elementsPerFrame;
  // A fresh buffer per batch: the scorer takes ownership of the one it is given.
  let input = new Float32Array(options.batch * per);
  const streamed = new Set(options.streamed?.heads ?? []);
  const heads: Record<string, number[]> = Object.fromEntries(scorer.heads.filter((h) => !streamed.has(h)).map((h) => [h, []]));
  const inputs: Record<string, number[]> = Object.fromEntries(INPUT_HEADS.map((h) => [h, []]));
  const predictions: number[] = [];
  const rejected: Array<{ id: string; reason: string; message: string }> = [];
  const scoredIndex: number[] = [];
  let index = 0;
  let filled = 0;
  let done = 0;
  const flush = async () => {
    if (filled === 0) return;
    const out = await scorer.score(input, filled);
    input = new Float32Array(options.batch * per);
    for (const h of scorer.heads) if (!streamed.has(h)) heads[h]!.push(...out.scores[h]!);
    options.streamed?.onBatch(out.scores, filled);
    predictions.push(...predictedClasses(out, scorer.numClasses));
    done += filled;
    filled = 0;
    options.progress?.(done + rejected.length, set.count);
  };
  for await (const item of set.items()) {
    const itemIndex = index++;
    const slot = input.subarray(filled * per, (filled + 1) * per);
    let measured: InputStats;
    try {
      // The input heads, as the agent measures them (frames/frame-decoder.ts decodeMeasured).
      if (item.kind === 'encoded') measured = (await decodeMeasured(pre, item.bytes, {}, slot, 'full')).input;
      else {
        await pre.rawInto(item.pixels, item.layout, slot);
        measured = measureRaw(item.pixels, item.layout);
      }
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      if (options.onBadFrame === 'stop') {
        throw new GaiaError(ErrorCodes.BAD_FRAME, `${item.id}: ${err.message} (reason: ${err.reason}); pass --on-bad-frame skip to score the rest`, { cause: err });
      }
      rejected.push({ id: item.id, reason: err.reason, message: err.message });
      continue;
    }
    for (const h of INPUT_HEADS) inputs[h]!.push(measured.values[h]);
    scoredIndex.push(itemIndex);
    filled++;
    if (filled === options.batch) await flush();
  }
  await flush();
  if (done === 0) throw new GaiaError(ErrorCodes.BAD_CONFIG, `data set ${set.source}: no frame could be scored (${rejected.length} rejected)`);
  const labels = set.labels;
  const accuracy = labels ? scoredIndex.filter((item, k) => labels[item] === predictions[k]).length / scoredIndex.length : undefined;
  return {
    ...(accuracy === undefined ? {} : { accuracy }),
    ...(labels ? { labels: Int32Array.from(scoredIndex, (item) => labels[item]!) } : {}),
    name: set.name,
    source: set.source,
    count: done,
    heads: Object.fromEntries(Object.entries(heads).map(([h, v]) => [h, Float32Array.from(v)])),
    inputs: Object.fromEntries(Object.entries(inputs).map(([h, v]) => [h, Float32Array.from(v)])),
    predictions: Int32Array.from(predictions),
    rejected,
  };
}
