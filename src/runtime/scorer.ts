/**
 * The scorer contract: a batch of preprocessed frames in, per-frame logits and scores out.
 * Implementations: OrtScorer (onnxruntime-node in the calling thread) and WorkerScorer
 * (an OrtScorer in a worker thread: onnxruntime-node's run() holds its thread for the
 * whole batch, which must never be the main event loop).
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
  /** Scores the first `size` frames of `input`, whose buffer the scorer may take over (transfer). */
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
