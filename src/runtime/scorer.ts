/**
 * The scorer contract: a batch of preprocessed frames in, per-frame logits and scores out.
 * Implementations: OrtScorer (onnxruntime-node, this file's sibling). The streaming agent
 * moves it into worker threads (onnxruntime-node's run() holds its thread for the batch).
 */
export interface ScoreBatch {
  /** Number of frames in the batch. */
  readonly size: number;
  /** [size, classes] logits, row-major. */
  readonly logits: Float32Array;
  /** Per-frame scores by head name (gaia_z, msp, energy, ...). */
  readonly scores: Readonly<Record<string, Float32Array>>;
}

export interface Scorer {
  /** Head names the scoring graph computes, besides logits. */
  readonly heads: readonly string[];
  readonly numClasses: number;
  /** The execution provider that runs the graph ("cpu", "cuda"). */
  readonly executionProvider: string;
  score(input: Float32Array, size: number): Promise<ScoreBatch>;
  /** Releases the session; idempotent. */
  close(): Promise<void>;
}

/** Index of the largest logit of each frame (the first on ties, as ArgMax). */
export function predictedClasses(batch: ScoreBatch, numClasses: number): Int32Array {
  const out = new Int32Array(batch.size);
  for (let i = 0; i < batch.size; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (batch.logits[i * numClasses + c]! > batch.logits[i * numClasses + best]!) best = c;
    out[i] = best;
  }
  return out;
}
