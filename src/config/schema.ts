/**
 * Configuration schema (convict): every key has a default, a doc string and an env var.
 * Keys grow with the agent; today they cover the model package, the runtime and the
 * replay source.
 */
import type { ImageFormat } from '../frames/sniff.js';
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
    gaiaZMode: {
      doc: 'How the GAIA-Z head finds the zeros of its gradient: pattern (propagates only where it is non-zero; the float backward where that cannot be proven exact) or float. Same scores, same calibrations.',
      format: ['pattern', 'float'],
      default: 'pattern',
      env: 'GAIA_MODEL_GAIA_Z_MODE',
    },
    verdictHead: {
      doc: "Empty (default): frames are judged by the calibration's verdict rule, the heads it combines (calibrate --verdict-heads; a calibration without one: its primary head, gaia_z). A head name judges by that head's calibrated threshold alone: gaia_z, or any score head of the compiler (energy, msp, odin, react, gradnorm, rankfeat, mahalanobis, gaia_a and its variants). The calibration must hold its threshold (calibrate --methods); react and mahalanobis also its feature statistics (calibrate --stats-data).",
      format: String,
      default: '',
      env: 'GAIA_MODEL_VERDICT_HEAD',
    },
  },
  source: {
    kind: {
      doc: 'Where frames come from: replay (image folders, no broker) or kafka.',
      format: ['replay', 'kafka'],
      default: 'replay',
      env: 'GAIA_SOURCE',
    },
  },
  kafka: {
    brokers: {
      doc: 'Bootstrap brokers, comma-separated host:port.',
      format: Array,
      default: ['127.0.0.1:9092'],
      env: 'GAIA_KAFKA_BROKERS',
    },
    clientId: { doc: 'Kafka client id.', format: String, default: 'gaia-sentinel', env: 'GAIA_KAFKA_CLIENT_ID' },
    groupId: { doc: 'Consumer group: agents sharing it split the partitions.', format: String, default: 'gaia-sentinel', env: 'GAIA_KAFKA_GROUP_ID' },
    ssl: { doc: 'Connect with TLS.', format: 'bool', default: false, env: 'GAIA_KAFKA_SSL' },
    sslCaFile: {
      doc: 'PEM file of the CA(s) that signed the brokers\' certificates (TLS); empty: the system CAs.',
      format: String,
      default: '',
      env: 'GAIA_KAFKA_SSL_CA_FILE',
    },
    sslCertFile: { doc: 'PEM client certificate for mutual TLS (with kafka.sslKeyFile); empty: none.', format: String, default: '', env: 'GAIA_KAFKA_SSL_CERT_FILE' },
    sslKeyFile: { doc: 'PEM private key of the client certificate (mutual TLS; never logged).', format: String, default: '', env: 'GAIA_KAFKA_SSL_KEY_FILE' },
    saslMechanism: {
      doc: 'SASL mechanism: empty (none), plain, scram-sha-256 or scram-sha-512.',
      format: ['', 'plain', 'scram-sha-256', 'scram-sha-512'],
      default: '',
      env: 'GAIA_KAFKA_SASL_MECHANISM',
    },
    saslUsername: { doc: 'SASL user name.', format: String, default: '', env: 'GAIA_KAFKA_SASL_USERNAME' },
    saslPassword: { doc: 'SASL password (never logged).', format: String, default: '', env: 'GAIA_KAFKA_SASL_PASSWORD', sensitive: true },
    framesTopic: { doc: 'Input topic of frames (key = source id).', format: String, default: 'gaia.frames', env: 'GAIA_KAFKA_FRAMES_TOPIC' },
    alertsTopic: { doc: 'Output topic of drift events (and frame-ood events with frameOodOnAlerts).', format: String, default: 'gaia.alerts', env: 'GAIA_KAFKA_ALERTS_TOPIC' },
    frameOodOnAlerts: {
      doc: 'Also publish a frame-ood event per flagged frame on the alerts topic (about 5% of normal frames are flagged by design; the scores topic has every verdict).',
      format: 'bool',
      default: false,
      env: 'GAIA_KAFKA_FRAME_OOD_ON_ALERTS',
    },
    scoresTopic: { doc: 'Output topic of every verdict (empty: off).', format: String, default: '', env: 'GAIA_KAFKA_SCORES_TOPIC' },
    dlqTopic: { doc: 'Dead-letter topic for frames that cannot be scored.', format: String, default: 'gaia.frames.dlq', env: 'GAIA_KAFKA_DLQ_TOPIC' },
    maxBytesPerPartition: {
      doc: 'Most bytes fetched per partition at once; must exceed frames.maxBytes so that an oversized frame can still be fetched and dead-lettered.',
      format: 'positive-int',
      default: 16 * 1024 * 1024,
      env: 'GAIA_KAFKA_MAX_BYTES_PER_PARTITION',
    },
    sessionTimeoutMs: { doc: 'Consumer group session timeout (ms).', format: 'positive-int', default: 30_000, env: 'GAIA_KAFKA_SESSION_TIMEOUT_MS' },
    fetchMaxWaitMs: {
      doc: 'Longest a fetch waits on the broker for new frames (ms). kafkajs also sleeps this long whenever every partition is paused, so it bounds how late fetching resumes after backpressure.',
      format: 'positive-int',
      default: 100,
      env: 'GAIA_KAFKA_FETCH_MAX_WAIT_MS',
    },
    commitIntervalMs: {
      doc: 'At-least-once: acknowledged offsets are committed at most this often (ms; 0 = after every batch). Fewer commits cost the brokers less; a crash redelivers at most this much more. Stopping commits what is pending.',
      format: 'nat',
      default: 1000,
      env: 'GAIA_KAFKA_COMMIT_INTERVAL_MS',
    },
    maxMessageBytes: {
      doc: 'The output topics\' max.message.bytes (Kafka\'s default is 1048588): no record or produce batch the agent sends exceeds it. Dead letters over it carry the frame\'s coordinates and SHA-256 instead of its bytes (docs/DELIVERY.md). Set it to the smallest limit of the alerts, scores and DLQ topics.',
      format: 'positive-int',
      default: 1_048_588,
      env: 'GAIA_KAFKA_MAX_MESSAGE_BYTES',
    },
    retries: {
      doc: 'Retries of a failed Kafka request, with backoff from 300 ms to 5 s, before the error surfaces (30: about 2.5 min, rides out a broker restart; at least 1, which the idempotent producer needs). A consumer that runs out of them is restarted by kafkajs; /readyz is 503 meanwhile.',
      format: 'positive-int',
      default: 30,
      env: 'GAIA_KAFKA_RETRIES',
    },
    fromBeginning: { doc: 'A new consumer group starts at the earliest offset (else the latest).', format: 'bool', default: true, env: 'GAIA_KAFKA_FROM_BEGINNING' },
    exactlyOnce: {
      doc: 'Write each batch\'s outputs and its consumer offsets in one Kafka transaction (read_committed readers see every verdict once).',
      format: 'bool',
      default: false,
      env: 'GAIA_KAFKA_EXACTLY_ONCE',
    },
    lingerMs: {
      doc: 'At-least-once: least time between two produce requests (ms; 0 = none); batches scored meanwhile share the next one, as the Kafka producer\'s linger.ms. Worth setting above the time to score one batch when batches are small: fewer requests cost the brokers less, each verdict leaves up to this much later.',
      format: 'nat',
      default: 0,
      env: 'GAIA_KAFKA_LINGER_MS',
    },
    transactionIntervalMs: {
      doc: 'Exactly-once: least time between two transactions (ms); batches scored meanwhile share the next one. Fewer, larger transactions cost the brokers far less; read_committed readers see outputs up to this much later.',
      format: 'nat',
      default: 100,
      env: 'GAIA_KAFKA_TRANSACTION_INTERVAL_MS',
    },
    transactionalId: {
      doc: 'Transactional id of this agent instance (exactly-once); must be stable across restarts of the instance and unique among instances. Empty: <groupId>-<hostname>.',
      format: String,
      default: '',
      env: 'GAIA_KAFKA_TRANSACTIONAL_ID',
    },
  },
  telemetry: {
    host: { doc: 'Address the /metrics, /healthz and /readyz server binds to.', format: String, default: '127.0.0.1', env: 'GAIA_TELEMETRY_HOST' },
    port: { doc: 'Port of that server (0: any free port).', format: 'port', default: 9464, env: 'GAIA_TELEMETRY_PORT' },
    allowSources: {
      doc: 'Sources that get their own metric label (comma-separated); empty: the first topKSources seen. Others count as "other".',
      format: Array,
      default: [] as string[],
      env: 'GAIA_TELEMETRY_SOURCES',
    },
    topKSources: { doc: 'With no allow-list: how many sources get their own label.', format: 'positive-int', default: 50, env: 'GAIA_TELEMETRY_TOP_K_SOURCES' },
    maxConnections: {
      doc: 'Most HTTP connections the /metrics, /healthz and /readyz server holds at once; more are refused (a scraper and a probe need a handful).',
      format: 'positive-int',
      default: 64,
      env: 'GAIA_TELEMETRY_MAX_CONNECTIONS',
    },
    requestTimeoutMs: {
      doc: 'An HTTP client must send its whole request within this long (ms), and an idle keep-alive connection is closed after it, so slow or idle clients cannot hold the server\'s connections.',
      format: 'positive-int',
      default: 10_000,
      env: 'GAIA_TELEMETRY_REQUEST_TIMEOUT_MS',
    },
    readyStaleMs: {
      doc: '/readyz turns 503 when the Kafka consumer has not fetched for this long (broker unreachable).',
      format: 'positive-int',
      default: 15_000,
      env: 'GAIA_READY_STALE_MS',
    },
  },
  shutdownTimeoutMs: {
    doc: 'On SIGTERM/SIGINT: time to finish the in-flight batch, commit and disconnect before exiting with an error (ms).',
    format: 'positive-int',
    default: 30_000,
    env: 'GAIA_SHUTDOWN_TIMEOUT_MS',
  },
  calibration: {
    path: {
      doc: 'Calibration file (gaia-sentinel calibrate). Empty: calibration/<model name>.json when it exists; without one the agent reports scores but no verdicts.',
      format: String,
      default: '',
      env: 'GAIA_CALIBRATION',
    },
    watchIntervalMs: {
      doc: 'Check the calibration file for changes this often (ms) and reload it when it changed, as on SIGHUP; 0: only on SIGHUP.',
      format: 'nat',
      default: 0,
      env: 'GAIA_CALIBRATION_WATCH_INTERVAL_MS',
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
      doc: 'Run every batch shape once before the agent turns ready, so no frame waits on a first run: auto (on a GPU), always or never.',
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
  },
  drift: {
    window: {
      doc: 'Verdicts per source in the sliding window of the drift test.',
      format: 'positive-int',
      default: 100,
      env: 'GAIA_DRIFT_WINDOW',
    },
    alpha: {
      doc: 'A drift episode starts when P(X >= flagged | window, p0) falls below alpha.',
      format: 'probability',
      default: 0.001,
      env: 'GAIA_DRIFT_ALPHA',
    },
    resolveRate: {
      doc: 'An episode may end once the windowed flag rate is at or below this (0: twice p0).',
      format: 'probability-or-zero',
      default: 0,
      env: 'GAIA_DRIFT_RESOLVE_RATE',
    },
    resolveAfterMs: {
      doc: 'How long (frame time, ms) the rate must stay low before an episode ends.',
      format: 'nat',
      default: 1000,
      env: 'GAIA_DRIFT_RESOLVE_AFTER_MS',
    },
    changelogTopic: {
      doc: 'Kafka source: compacted topic of drift windows keyed by source (created if missing, with as many partitions as the frames topic). Each delivery writes the windows of the sources it touched; a partition\'s new owner restores them before scoring, so windows and open episodes survive restarts and partition moves. Empty: off (a moved source starts afresh, and its open episode ends with a drift-state-reset event).',
      format: String,
      default: '',
      env: 'GAIA_DRIFT_CHANGELOG_TOPIC',
    },
    idleForgetMs: {
      doc: 'A source with no frame for this long (ms) and no open episode loses its window and drift series, so memory stays bounded as source ids come and go (0: never).',
      format: 'nat',
      default: 3_600_000,
      env: 'GAIA_DRIFT_IDLE_FORGET_MS',
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
  },
  replay: {
    dirs: {
      doc: 'Replay phases, in order: "folder" or "folder*N" (N times). Empty: the model package samples: id, ood, then id twice.',
      format: Array,
      default: [] as string[],
      env: 'GAIA_REPLAY_DIRS',
    },
    source: {
      doc: 'Source id of the replayed stream (what the Kafka key would be).',
      format: String,
      default: 'camera-1',
      env: 'GAIA_REPLAY_SOURCE',
    },
    fps: {
      doc: 'Replay rate in frames per second (0: as fast as the pipeline takes them).',
      format: 'nat',
      default: 400,
      env: 'GAIA_REPLAY_FPS',
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
