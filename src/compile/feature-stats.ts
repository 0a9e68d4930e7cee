/**
 * Statistics of the penultimate features of ID training data, which the ReAct, Mahalanobis,
 * KNN, fDBD and ViM heads read as constants, and of the tapped layers' channel means, which
 * layer_mahalanobis reads (docs/COMPILER.md, "Heads that need statistics").
 * `gaia-sentinel calibrate --stats-data` estimates them (src/detect/feature-stats.ts,
 * src/detect/head-stats.ts) and stores them with the calibration; the compiler bakes them
 * into the scoring graph.
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
  /** KNN's bank (absent in calibrations made before the head existed). */
  readonly knn?: KnnBank;
  /** fDBD's normaliser: the mean ID training feature [dim]. */
  readonly featureMean?: Float32Array;
  /** ViM's principal subspace and scale. */
  readonly vim?: VimStats;
  /** layer_mahalanobis: a diagonal Gaussian of each tapped layer's channel means (heads/layer-mahalanobis.ts). */
  readonly layers?: LayerStats;
}

export interface KnnBank {
  /** The neighbour whose distance is the score (1 = the nearest). */
  readonly k: number;
  /** L2-normalised ID training features, row-major [rows, dim]. */
  readonly bank: Float32Array;
  readonly rows: number;
}

export interface VimStats {
  /** Dimension of the principal subspace kept (the residual is what lies outside it). */
  readonly principalDim: number;
  /** The origin u = −pinv(W) b the features are centred on [dim]. */
  readonly origin: Float32Array;
  /** An orthonormal basis of the residual space, row-major [dim, dim − principalDim]. */
  readonly residualBasis: Float32Array;
  /** α = mean max logit / mean residual norm on the ID training features. */
  readonly alpha: number;
}

/**
 * layer_mahalanobis' statistics: for each layer it reads (heads/layer-mahalanobis.ts,
 * `layerTaps`), the ID mean and inverse standard deviation of every channel's spatial mean,
 * and 1 / the ID standard deviation of the layer's distance, which puts the layers on one scale.
 */
export interface LayerStats {
  /** The channel count of each layer read, in tap order. */
  readonly channels: readonly number[];
  /** The ID mean of each channel's spatial mean, the layers concatenated [Σ channels]. */
  readonly mean: Float32Array;
  /** 1 / √(variance + floor) of each channel's spatial mean [Σ channels]. */
  readonly invStd: Float32Array;
  /** 1 / the ID standard deviation of each layer's distance [layers]. */
  readonly layerScale: Float32Array;
}
