/**
 * Configuration sections of running the agent: the telemetry server, shutdown and logging.
 * Assembled in schema.ts.
 */

/** telemetry: the /metrics, /healthz and /readyz server and metric labels. */
export const telemetrySchema = {
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
};

/** shutdownTimeoutMs, a top-level key. */
export const shutdownTimeoutSchema = {
  doc: 'On SIGTERM/SIGINT: time to finish the in-flight batch, commit and disconnect before exiting with an error (ms).',
  format: 'positive-int',
  default: 30_000,
  env: 'GAIA_SHUTDOWN_TIMEOUT_MS',
};

/** log: the level and format of the log on stderr. */
export const logSchema = {
  level: {
    doc: 'Log level: fatal, error, warn, info, debug or trace.',
    format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    env: 'GAIA_LOG_LEVEL',
  },
  format: {
    doc: 'Log format on stderr: json (one JSON object per line), pretty (one short line per entry: time, level, message, a few fields) or auto (pretty on a terminal, else json).',
    format: ['auto', 'json', 'pretty'],
    default: 'auto',
    env: 'GAIA_LOG_FORMAT',
  },
};
