/**
 * Configuration sections of judging over time: the calibration file and the drift episodes.
 * Assembled in schema.ts.
 */

/** calibration: the calibration file and its reloads. */
export const calibrationSchema = {
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
};

/** drift: the drift statistics, their thresholds and their state. */
export const driftSchema = {
  expectedRunTime: {
    doc: 'Expected frames between false drift-started events of one source with no shift (ERT), both drift statistics together; each gets twice it. Default 18144000: once a week at 30 fps. The thresholds of the flag count and the p-value CUSUM are derived from it.',
    format: 'positive-int',
    default: 18_144_000,
    env: 'GAIA_DRIFT_EXPECTED_RUN_TIME',
  },
  referenceFps: {
    doc: 'Frame rate (frames/s) at which the startup log states drift.expectedRunTime in hours and days. Only the log uses it.',
    format: 'positive-number',
    default: 30,
    env: 'GAIA_DRIFT_REFERENCE_FPS',
  },
  window: {
    doc: 'Verdicts per source in the sliding window of the flag-count drift test.',
    format: 'positive-int',
    default: 500,
    env: 'GAIA_DRIFT_WINDOW',
  },
  alpha: {
    doc: 'Override of the flag-count test: an episode starts when P(X >= flagged | window, p0) falls below alpha, instead of the count derived from drift.expectedRunTime. 0: derived (the default). Setting both alpha and a non-default drift.expectedRunTime is refused.',
    format: 'probability-or-zero',
    default: 0,
    env: 'GAIA_DRIFT_ALPHA',
  },
  pValueCusum: {
    doc: 'The second drift statistic: a CUSUM of the verdicts\' ID p-values, for shifts that leave flags rare. false: off, and the flag count gets the whole drift.expectedRunTime.',
    format: 'bool',
    default: true,
    env: 'GAIA_DRIFT_P_VALUE_CUSUM',
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
  changelog: {
    doc: 'Kafka source: keep each source\'s drift window in a compacted changelog topic (drift.changelogTopic). Each delivery writes the windows of the sources it touched; a partition\'s new owner restores them before scoring, so windows and open episodes survive restarts, crashes and partition moves, and a redelivered frame is not counted twice. false: off (a restarted agent starts every source afresh: an open episode gets no drift-resolved and a crash can start it twice; a moved source\'s open episode ends with a drift-state-reset event).',
    format: 'bool',
    default: true,
    env: 'GAIA_DRIFT_CHANGELOG',
  },
  changelogTopic: {
    doc: 'The drift changelog topic, created if missing (compacted, as many partitions as the frames topic: the agent then needs the CREATE ACL on it, or create it yourself). Empty: <kafka.groupId>-drift-changelog, as Kafka Streams names its changelogs after the application.',
    format: String,
    default: '',
    env: 'GAIA_DRIFT_CHANGELOG_TOPIC',
  },
  silenceMs: {
    doc: 'An open drift episode whose source sends no frame for this long (wall-clock ms) ends with a drift-silent event: the source went quiet, it did not recover (0: never; the episode stays open until frames show recovery).',
    format: 'nat',
    default: 900_000,
    env: 'GAIA_DRIFT_SILENCE_MS',
  },
  idleForgetMs: {
    doc: 'A source with no frame for this long (ms) and no open episode loses its window and drift series, so memory stays bounded as source ids come and go (0: never).',
    format: 'nat',
    default: 3_600_000,
    env: 'GAIA_DRIFT_IDLE_FORGET_MS',
  },
  partialShifts: {
    doc: 'Partial-shift CUSUMs beside the p-value CUSUM: likelihood-ratio CUSUMs for a stream where only a share of the frames is shifted (one camera of a scene partly occluded, a share of frames mis-exposed), which move the p-values too little for the p-value CUSUM and flag too few frames for the window. They share the CUSUM part of drift.expectedRunTime. false: off.',
    format: 'bool',
    default: true,
    env: 'GAIA_DRIFT_PARTIAL_SHIFTS',
  },
};
