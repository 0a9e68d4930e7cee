/**
 * Statistics of the penultimate features of ID training data, which the ReAct and
 * Mahalanobis heads read as constants (docs/COMPILER.md, "Heads that need statistics").
 * `gaia-sentinel calibrate --stats-data` estimates them (src/detect/feature-stats.ts) and
 * stores them with the calibration; the compiler bakes them into the scoring graph.
 */
export interface FeatureStats {
  /** ReAct's clip level τ: the 90th percentile of all penultimate activations. */
  readonly reactThreshold: number;
  readonly numClasses: number;
  /** Penultimate feature width D. */
  readonly dim: number;
  /** Class-conditional means, row-major [numClasses, dim]. */
  readonly classMeans: Float32Array;
  /** Pseudo-inverse of the shared (tied) covariance, row-major [dim, dim]. */
  readonly precision: Float32Array;
}
