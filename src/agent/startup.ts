/**
 * The agent's parts, assembled in the order a start needs them: telemetry first (so a slow
 * start has a liveness endpoint), then the model and its calibration (one read before the
 * compile, one check after), metrics, the stream, and the judging stage. Whatever was opened
 * is released, newest first, when a later step fails.
 */
import type { Logger } from 'pino';
import { defaultCalibrationPath } from '../calibration/calibration-file.js';
import { readCalibration } from '../calibration/calibration-load.js';
import { CalibrationSlot, type LoadedCalibration } from '../calibration/calibration-slot.js';
import { DEFAULT_HEADS, METHOD_HEADS, type GaiaZMode, type HeadName } from '../compile/heads.js';
import type { Config } from '../config/load.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { cameraFaultOptions } from '../judging/camera-settings.js';
import { driftInWords, driftMonitor } from '../judging/drift-settings.js';
import { Judging, type ActiveCalibration } from '../judging/judging.js';
import { isBundledPackage, loadModelPackage, type ModelPackage } from '../model/manifest.js';
import { openModel } from '../model/open-model.js';
import type { ShapePolicy } from '../runtime/ort-scorer.js';
import type { WorkerScorer } from '../runtime/worker-scorer.js';
import { TelemetryServer } from '../telemetry/http-server.js';
import { AgentMetrics, MetricsRegistry, type CalibrationMetrics } from '../telemetry/metrics.js';
import { buildInfo } from '../version.js';
import { ConsoleView } from './console-view.js';
import { compiledEvidenceHeads, evidenceToken, openEvidence } from './evidence-wiring.js';
import type { HealthBoard } from './health.js';
import { openStream, type Stream } from './open-stream.js';

export interface AgentDeps {
  /** Where events, verdicts (verbose) and the summary go. */
  readonly stdout: { write(chunk: string): unknown };
  readonly log?: Logger;
  /** Print every verdict, not only events. */
  readonly verbose?: boolean;
  /** NDJSON of every published record on stdout instead of the console view (`run --json`). */
  readonly json?: boolean;
}

export interface AgentParts {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly board: HealthBoard;
  readonly telemetry: TelemetryServer | undefined;
  readonly pkg: ModelPackage;
  readonly scorer: WorkerScorer;
  readonly calibration: CalibrationSlot;
  readonly metrics: AgentMetrics;
  readonly judging: Judging;
  readonly stream: Stream;
  readonly console: ConsoleView;
  /** The run's first lines on the console: the model, its verdict rule and the drift alarms. */
  readonly header: string;
}

/** Opens every part; `closers` gets each one's release as it opens (the caller releases them on failure). */
export async function assemble(config: Readonly<Config>, deps: AgentDeps, log: Logger, board: HealthBoard, closers: Array<() => Promise<unknown>>): Promise<AgentParts> {
  // Read first: a missing or bad token file stops the start before anything opens.
  const evidenceTokenValue = evidenceToken(config);
  const registry = new MetricsRegistry();
  const telemetry = await startTelemetry(config, registry, board, log);
  if (telemetry) closers.push(() => telemetry.close());
  const { pkg, scorer, fingerprint, calibration, taps } = await openScoring(config, log, board, closers);
  const name = pkg.manifest.name;
  const metrics = new AgentMetrics(registry, {
    model: name,
    classes: pkg.manifest.labels,
    allowSources: config.telemetry.allowSources,
    topKSources: config.telemetry.topKSources,
    version: buildInfo().version,
  });
  metrics.setModel(fingerprint, scorer.executionProvider);
  metrics.setCalibration(calibration.current ? calibrationMetrics(calibration.current) : undefined);
  metrics.watchReady(() => board.snapshot().ready);

  const stream = await openStream(config, { name, dir: pkg.dir }, log, deps.json ? deps.stdout : undefined);
  closers.push(() => stream.source.close());
  board.source = stream.source;
  metrics.watchLag(() => stream.source.lag());

  const current = calibration.current;
  const judging = new Judging({
    model: name,
    fingerprint,
    labels: pkg.manifest.labels,
    numClasses: scorer.numClasses,
    scoreHead: config.model.verdictHead || 'gaia_z',
    ...(current ? { calibration: activeCalibration(current) } : {}),
    drift: (p0, referenceSize) => driftMonitor(config.drift, p0, referenceSize),
    changelog: stream.restore !== undefined,
    camera: cameraFaultOptions(config.camera),
    evidence: openEvidence(config, pkg, taps, telemetry, evidenceTokenValue),
  });
  const drift = judging.drift;
  if (drift) {
    metrics.watchDrift((source) => drift.state(source), () => drift.thresholds.expectedRunTime);
    log.info({ configuredRunTime: config.drift.expectedRunTime, referenceFps: config.drift.referenceFps, ...drift.thresholds }, `drift alarms: ${driftInWords(config.drift, drift.thresholds)}`);
  }
  const header = current
    ? `model ${name}; verdicts: ${current.judge.describe()} (${calibration.path}, p0 ${(100 * current.judge.flagRate).toFixed(1)}%); drift: ${driftInWords(config.drift, drift!.thresholds)}`
    : `model ${name}; no calibration found: scores only, no verdicts or drift (write one with gaia-sentinel calibrate)`;
  // With --json stdout holds only records: the console view stays silent.
  const view = new ConsoleView({ out: deps.json ? { write: () => true } : deps.stdout, verbose: deps.verbose ?? false, keepRecords: stream.finite && !deps.json, judged: current !== undefined });
  return { config, log, board, telemetry, pkg, scorer, calibration, metrics, judging, stream, console: view, header };
}

async function startTelemetry(config: Readonly<Config>, registry: MetricsRegistry, board: HealthBoard, log: Logger): Promise<TelemetryServer | undefined> {
  const telemetry = await TelemetryServer.create({
    host: config.telemetry.host,
    port: config.telemetry.port,
    registry,
    maxConnections: config.telemetry.maxConnections,
    requestTimeoutMs: config.telemetry.requestTimeoutMs,
    readiness: () => {
      const h = board.snapshot();
      return { ready: h.ready, detail: { ...h.detail } };
    },
    liveness: () => {
      const h = board.snapshot();
      return { live: h.live, detail: { ...h.detail } };
    },
  }).catch((err: Error) => {
    // The replay demo runs without its HTTP endpoints rather than fail on a busy port.
    if (config.source.kind === 'replay') {
      log.warn({ err: err.message }, 'telemetry server not started');
      return undefined;
    }
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `cannot serve /metrics on ${config.telemetry.host}:${config.telemetry.port} (telemetry.port, env GAIA_TELEMETRY_PORT): ${err.message}`);
  });
  if (telemetry) log.info({ url: `http://${config.telemetry.host}:${telemetry.port}/metrics` }, 'telemetry server listening (loading the model)');
  return telemetry;
}

/**
 * The model package, its calibration read once (the heads its judge reads, and react's and
 * mahalanobis' feature statistics, are compiled in), the scorer, and the calibration checked
 * against the compiled model.
 */
async function openScoring(config: Readonly<Config>, log: Logger, board: HealthBoard, closers: Array<() => Promise<unknown>>) {
  const pkg = await loadModelPackage(config.model.dir);
  const name = pkg.manifest.name;
  board.model = name;
  const head = config.model.verdictHead ? verdictHead(config.model.verdictHead) : undefined;
  const defaultPath = defaultCalibrationPath(name, pkg.dir);
  const reading = await readCalibration(config.calibration.path || defaultPath, head, [], false, name);
  const judgeHeads = reading?.needs.judgeHeads ?? (head ? [head] : []);
  const extra = compiledEvidenceHeads(config);
  const compiledHeads = [...new Set([...DEFAULT_HEADS, ...judgeHeads, ...extra])];
  const featureStats = reading?.needs.featureStats;
  const started = performance.now();
  const r = config.runtime;
  const { scorer, compiled, fingerprint, graph } = await openModel(
    pkg,
    {
      executionProviders: r.executionProviders,
      requireGpu: r.requireGpu,
      intraOpThreads: r.intraOpThreads,
      spinWait: r.spinWait,
      cudaDeviceId: r.cudaDeviceId,
      // convict has checked both against the schema's lists.
      shapes: { maxBatch: r.maxBatch, pad: r.padBatches as ShapePolicy, warmup: r.warmup as ShapePolicy },
      taps: config.model.taps,
      heads: compiledHeads,
      // A model the saliency head cannot serve still runs, its evidence without overlays.
      optional: extra.filter((h) => h !== 'gaia_z_ratios'),
      ...(featureStats ? { headSettings: { featureStats } } : {}),
      // convict has checked it against the schema's list.
      gaiaZMode: config.model.gaiaZMode as GaiaZMode,
      // The next start reuses what this one compiled, where the package is the user's and writable.
      keep: isBundledPackage(pkg.dir) ? false : 'if-writable',
    },
    { batchTimeoutMs: r.batchTimeoutMs },
  );
  closers.push(() => scorer.close());
  board.scorer = scorer;
  if (scorer.fallbacks.length > 0) log[r.executionProviders.includes('auto') ? 'info' : 'warn']({ tried: scorer.fallbacks, using: scorer.executionProvider }, `execution provider fallback: using ${scorer.executionProvider}`);
  log.info(
    {
      model: name,
      taps: compiled.taps.length,
      heads: scorer.heads,
      gaiaZMode: compiled.gaiaZMode,
      notes: compiled.notes,
      executionProvider: scorer.executionProvider,
      ...(scorer.buckets.length > 0 ? { batchShapes: scorer.buckets } : {}),
      ...(scorer.warmupMs > 0 ? { warmupMs: Math.round(scorer.warmupMs) } : {}),
      graph: graph.source,
      ...(graph.why ? { compiledBecause: graph.why } : {}),
      ms: Math.round(performance.now() - started),
    },
    graph.source === 'package' ? "scoring graph loaded from the package's model.gaia.onnx" : 'scoring graph compiled and loaded',
  );
  const calibration = await CalibrationSlot.open(config.calibration.path, { model: name, fingerprint, head, compiledHeads, compiledStats: featureStats !== undefined, defaultPath }, reading);
  const judge = calibration.current?.judge;
  if (judge) log.info({ calibration: calibration.path, verdict: judge.describe(), heads: judge.heads, p0: judge.flagRate }, 'calibration loaded');
  return { pkg, scorer, fingerprint, calibration, taps: compiled.taps };
}

/**
 * What the calibration gauges show: GAIA-Z's raw threshold (gaia_threshold keeps its meaning
 * whatever judges), p0, and the file's own digest (two calibrations of one model share the
 * model fingerprint).
 */
export function calibrationMetrics(c: LoadedCalibration): CalibrationMetrics {
  const z = c.file.heads.gaia_z;
  return { ...(z ? { rawThreshold: z.rawThreshold } : {}), flagRate: c.judge.flagRate, fingerprint: c.ref.digest };
}

/** What judges, with the calibration's typical zero ratios for the evidence pages. */
export function activeCalibration(c: LoadedCalibration): ActiveCalibration {
  return { judge: c.judge, ref: c.ref, ...(c.file.zeroRatios ? { zeroRatios: c.file.zeroRatios.taps } : {}) };
}

/** model.verdictHead, checked: a head the compiler offers that has a calibrated score. */
function verdictHead(name: string): HeadName {
  if (!(METHOD_HEADS as readonly string[]).includes(name)) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `invalid configuration: model.verdictHead (env GAIA_MODEL_VERDICT_HEAD) is "${name}"; choose one of ${METHOD_HEADS.join(', ')}`);
  }
  return name as HeadName;
}
