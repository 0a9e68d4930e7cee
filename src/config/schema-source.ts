/**
 * Configuration sections of where frames come from and where the outputs go: the source
 * kind, Kafka (input, output topics, delivery) and the replay source. Assembled in schema.ts.
 */

/** source: replay or kafka. */
export const sourceSchema = {
  kind: {
    doc: 'Where frames come from: replay (image folders, no broker) or kafka.',
    format: ['replay', 'kafka'],
    default: 'replay',
    env: 'GAIA_SOURCE',
  },
};

/**
 * Least kafka.maxMessageBytes (8 KiB): the largest record the agent sends without a frame's
 * bytes must fit, or it would be refused forever and stall its partition. That is a dead
 * letter cut down to digests (a key of up to 1 KiB, an error message of up to 1024
 * characters, coordinates and digests: at most about 5 kB), or a verdict with 256-byte ids
 * (about 2 kB). Real topic limits are far above (Kafka's default is 1 MiB).
 */
export const MIN_MESSAGE_BYTES = 8192;

/** kafka: brokers, security, topics and delivery. */
export const kafkaSchema = {
  brokers: {
    doc: 'Bootstrap brokers, comma-separated host:port.',
    format: Array,
    default: ['127.0.0.1:9092'],
    env: 'GAIA_KAFKA_BROKERS',
  },
  clientId: { doc: 'Kafka client id.', format: String, default: 'gaia-sentinel', env: 'GAIA_KAFKA_CLIENT_ID' },
  groupId: { doc: 'Consumer group: agents sharing it split the partitions.', format: String, default: 'gaia-sentinel', env: 'GAIA_KAFKA_GROUP_ID' },
  eventSource: {
    doc: 'The CloudEvents source (ce_source) of every record the agent publishes: the name of the deployment, which (ce_source, ce_id) deduplication keys on. Empty: /gaia-sentinel/<model name>. Unlike the consumer group, it does not change when the group is renamed.',
    format: String,
    default: '',
    env: 'GAIA_EVENT_SOURCE',
  },
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
    doc: 'The output topics\' max.message.bytes (Kafka\'s default is 1048588): no record or produce batch the agent sends exceeds it. Dead letters over it carry the frame\'s coordinates and SHA-256 instead of its bytes (docs/DELIVERY.md). Set it to the smallest limit of the alerts, scores and DLQ topics; at least 8192 (the largest record without a frame must fit).',
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
  fetchMaxBytes: {
    doc: 'Most bytes one fetch returns, all partitions together (0: 4 × maxBytesPerPartition, at least 10 MiB). The broker still returns a frame larger than this on its own; smaller fetches hold less memory while a backlog drains.',
    format: 'nat',
    default: 0,
    env: 'GAIA_KAFKA_FETCH_MAX_BYTES',
  },
};

/** replay: image folders replayed as a stream. */
export const replaySchema = {
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
};
