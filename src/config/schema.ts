/**
 * Configuration schema (convict): every key has a default, a doc string and an env var.
 * Keys grow with the agent; today they cover the model package, the runtime and the
 * replay source.
 */
export const schema = {
  model: {
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
  },
  calibration: {
    path: {
      doc: 'Calibration file (gaia-sentinel calibrate). Empty: calibration/<model name>.json when it exists; without one the agent reports scores but no verdicts.',
      format: String,
      default: '',
      env: 'GAIA_CALIBRATION',
    },
  },
  runtime: {
    executionProviders: {
      doc: 'ONNX Runtime execution providers in order of preference.',
      format: 'provider-list',
      default: ['cuda', 'cpu'],
      env: 'GAIA_EXECUTION_PROVIDERS',
    },
    requireGpu: {
      doc: 'Exit at startup when no GPU execution provider loads, instead of falling back to CPU.',
      format: 'bool',
      default: false,
      env: 'GAIA_REQUIRE_GPU',
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
  },
  frames: {
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
  },
  replay: {
    dirs: {
      doc: 'Folders of image files replayed in order; each folder is one source. Empty: the model package samples (id, then ood).',
      format: Array,
      default: [] as string[],
      env: 'GAIA_REPLAY_DIRS',
    },
  },
  log: {
    level: {
      doc: 'Log level: fatal, error, warn, info, debug or trace.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'GAIA_LOG_LEVEL',
    },
  },
};
