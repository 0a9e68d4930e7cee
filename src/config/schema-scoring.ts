/**
 * Configuration sections of scoring: the model package, the ONNX Runtime and batching, and
 * which frames are decoded. Assembled in schema.ts.
 */
import type { DamagedPolicy } from '../frames/preprocess.js';
import type { ImageFormat } from '../frames/sniff.js';

/** model: the model package and how its heads judge. */
export const modelSchema = {
  dir: {
    doc: 'Model package folder: manifest.json and model.onnx (the scoring graph is compiled at startup).',
    format: String,
    default: 'models/fmnist-cnn',
    env: 'GAIA_MODEL_DIR',
  },
  taps: {
    doc: 'Tap selection for the compiler: bn, stages:N or name:REGEX.',
    format: String,
    default: 'bn',
    env: 'GAIA_MODEL_TAPS',
  },
  gaiaZMode: {
    doc: 'How the GAIA-Z head finds the zeros of its gradient: pattern (propagates only where it is non-zero; the float backward where that cannot be proven exact) or float. Same scores, same calibrations. pattern-exact: pattern, with the HardSwish/HardSigmoid masks read from their inputs as autograd does (exact at every input, slower: it unfuses the onnxruntime Conv+activation kernels; docs/COMPILER.md).',
    format: ['pattern', 'float', 'pattern-exact'],
    default: 'pattern',
    env: 'GAIA_MODEL_GAIA_Z_MODE',
  },
  verdictHead: {
    doc: "Empty (default): frames are judged by the calibration's verdict rule, the heads it combines (calibrate --verdict-heads; a calibration without one: its primary head, gaia_z). A head name judges by that head's calibrated threshold alone: gaia_z, or any score head of the compiler (energy, msp, odin, react, gradnorm, rankfeat, mahalanobis, gaia_a and its variants). The calibration must hold its threshold (calibrate --methods); react and mahalanobis also its feature statistics (calibrate --stats-data).",
    format: String,
    default: '',
    env: 'GAIA_MODEL_VERDICT_HEAD',
  },
};

/** runtime: execution providers, batching and backpressure. */
export const runtimeSchema = {
  executionProviders: {
    doc: 'ONNX Runtime execution providers in order of preference (cuda, cpu), or auto: CUDA when it loads, else the CPU, a fallback logged at info (a list that names cuda logs it as a warning).',
    format: 'provider-list',
    default: ['auto'],
    env: 'GAIA_EXECUTION_PROVIDERS',
  },
  requireGpu: {
    doc: 'Exit at startup when no GPU execution provider loads, instead of falling back to CPU.',
    format: 'bool',
    default: false,
    env: 'GAIA_REQUIRE_GPU',
  },
  cudaDeviceId: {
    doc: 'The GPU the CUDA execution provider runs on (0: the first).',
    format: 'nat',
    default: 0,
    env: 'GAIA_CUDA_DEVICE_ID',
  },
  padBatches: {
    doc: 'Pad each batch to a fixed size (powers of two up to runtime.maxBatch, and maxBatch) so only those shapes reach the runtime: auto (on a GPU, where every new shape costs a cuDNN algorithm search), always or never.',
    format: ['auto', 'always', 'never'],
    default: 'auto',
    env: 'GAIA_PAD_BATCHES',
  },
  warmup: {
    doc: 'Run every batch shape twice before the agent turns ready, so no frame waits on the first runs (which plan memory): auto (on a GPU), always or never.',
    format: ['auto', 'always', 'never'],
    default: 'auto',
    env: 'GAIA_WARMUP',
  },
  intraOpThreads: {
    doc: 'Threads ONNX Runtime uses inside one batch (0 = one per core).',
    format: 'nat',
    default: 0,
    env: 'GAIA_INTRA_OP_THREADS',
  },
  maxBatch: {
    doc: 'Most frames scored in one session.run.',
    format: 'positive-int',
    default: 32,
    env: 'GAIA_MAX_BATCH',
  },
  maxWaitMs: {
    doc: 'Longest a frame waits for its batch to fill before the batch is scored anyway (ms).',
    format: 'nat',
    default: 20,
    env: 'GAIA_MAX_WAIT_MS',
  },
  highWaterMark: {
    doc: 'Frames held (decoded, queued or being scored) before the source is paused; it resumes at half.',
    format: 'positive-int',
    default: 256,
    env: 'GAIA_HIGH_WATER_MARK',
  },
  batchTimeoutMs: {
    doc: 'Deadline of one scored batch (ms). A batch that takes longer means a stuck scorer: the agent stops and exits with code 75 so that its supervisor restarts it.',
    format: 'positive-int',
    default: 60_000,
    env: 'GAIA_BATCH_TIMEOUT_MS',
  },
  decodeConcurrency: {
    doc: 'Frames decoded at once ahead of the batcher (sharp runs them on libuv\'s thread pool, UV_THREADPOOL_SIZE, default 4).',
    format: 'positive-int',
    default: 4,
    env: 'GAIA_DECODE_CONCURRENCY',
  },
  spinWait: {
    doc: 'Let ONNX Runtime\'s threads spin while they wait for work (ONNX Runtime\'s own default) rather than sleep. Off by default: spinning burned CPU that decoding needed and lowered the agent\'s throughput (docs/BENCHMARKS.md).',
    format: 'bool',
    default: false,
    env: 'GAIA_SPIN_WAIT',
  },
};

/** frames: limits and formats of the frames decoded. */
export const framesSchema = {
  maxBytes: {
    doc: 'Largest encoded frame accepted, in bytes.',
    format: 'positive-int',
    default: 8 * 1024 * 1024,
    env: 'GAIA_FRAME_MAX_BYTES',
  },
  maxPixels: {
    doc: 'Largest decoded frame accepted, in pixels (decompression-bomb guard).',
    format: 'positive-int',
    default: 40_000_000,
    env: 'GAIA_FRAME_MAX_PIXELS',
  },
  formats: {
    doc: 'Image formats decoded, as detected from the bytes (not the content-type header): any of jpeg, png, webp, gif, tiff, avif, heif, svg. SVG is off by default: rendering it can cost seconds of CPU per frame.',
    format: 'format-list',
    default: ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'] as ImageFormat[],
    env: 'GAIA_FRAME_FORMATS',
  },
  decodeTimeoutMs: {
    doc: 'Longest one frame may take to decode (ms, rounded up to whole seconds, the granularity of libvips); a frame over it is dead-lettered as decode-timeout.',
    format: 'positive-int',
    default: 2_000,
    env: 'GAIA_FRAME_DECODE_TIMEOUT_MS',
  },
  damaged: {
    doc: 'A damaged frame (its header is valid, its data decodes only with its errors ignored: truncated or corrupt, e.g. a camera frame with a garbled half): dead-letter (reason damaged; the default, so the classifier never judges the damage and drift stays about the scene) or score (scored as decoded). Counted either way in gaia_damaged_frames_total.',
    format: ['dead-letter', 'score'],
    default: 'dead-letter' as DamagedPolicy,
    env: 'GAIA_FRAME_DAMAGED',
  },
};
