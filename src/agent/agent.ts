/**
 * The agent as one component: `Agent.create(config, deps)` assembles it — telemetry first
 * (so a slow start has a liveness endpoint), then the scorer, the calibration, metrics,
 * drift and the stream — and `run()` streams frames until the source ends, `close()` stops
 * and drains (memoised), `abort()` stops without committing, `health()` says whether it is
 * alive and ready. Everything it opens is released on every path, in reverse order.
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { DEFAULT_HEADS, METHOD_HEADS, type GaiaZMode, type HeadName } from '../compile/heads.js';
import type { Config } from '../config/load.js';
import { DriftMonitor } from '../detect/drift.js';
import { ErrorCodes, GaiaError, isGaiaError } from '../errors.js';
import { loadModelPackage, type ModelPackage } from '../model/manifest.js';
import { Preprocessor } from '../frames/preprocess.js';
import { defaultCalibrationPath, readScorerNeeds } from '../calibration/calibration-file.js';
import { fingerprintOf } from '../model/fingerprint.js';
import { loadScorer } from '../model/open-model.js';
import type { ShapePolicy } from '../runtime/ort-scorer.js';
import type { WorkerScorer } from '../runtime/worker-scorer.js';
import type { PipelineObserver } from '../contracts/stream.js';
import type { CalibrationRef } from '../contracts/events.js';
import { calibrationChanged } from '../judging/calibration-event.js';
import { runPipeline, type PipelineStats } from '../stream/pipeline.js';
import { TelemetryServer } from '../telemetry/http-server.js';
import { createLogger } from '../telemetry/logger.js';
import { AgentMetrics, MetricsRegistry, type CalibrationMetrics } from '../telemetry/metrics.js';
import { buildInfo } from '../version.js';
import { CalibrationSlot, type LoadedCalibration, type ReloadOutcome } from '../calibration/calibration-slot.js';
import { ConsoleView } from './console-view.js';
import { HealthBoard, type AgentHealth } from './health.js';
import { openStream, type Stream } from './open-stream.js';

export type { AgentHealth } from './health.js';

export interface AgentDeps {
  /** Where events, verdicts (verbose) and the summary go. */
  readonly stdout: { write(chunk: string): unknown };
  readonly log?: Logger;
  /** Print every verdict, not only events. */
  readonly verbose?: boolean;
  /** NDJSON of every published record on stdout instead of the console view (`run --json`). */
  readonly json?: boolean;
}

interface Parts {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly board: HealthBoard;
  readonly telemetry: TelemetryServer | undefined;
  readonly pkg: ModelPackage;
  readonly scorer: WorkerScorer;
  readonly fingerprint: string;
  readonly calibration: CalibrationSlot;
  readonly metrics: AgentMetrics;
  readonly drift: DriftMonitor | undefined;
  readonly stream: Stream;
  readonly console: ConsoleView;
  readonly header: string;
}

/** Releases what was opened so far, newest first, on a failed start. */
async function release(closers: Array<() => Promise<unknown>>): Promise<void> {
  for (const close of closers.reverse()) await close().catch(() => {});
}

export class Agent {
  private running: Promise<PipelineStats> | undefined;
  private closing: Promise<void> | undefined;
  private aborting: Promise<void> | undefined;
  private tearingDown: Promise<void> | undefined;
  /** Created with the first calibration, which may arrive by a reload after startup. */
  private drift: DriftMonitor | undefined;

  private constructor(private readonly p: Parts) {
    this.drift = p.drift;
  }

  static async create(config: Readonly<Config>, deps: AgentDeps): Promise<Agent> {
    const log = deps.log ?? createLogger(config.log.level);
    const board = new HealthBoard(config.telemetry.readyStaleMs);
    const registry = new MetricsRegistry();
    const closers: Array<() => Promise<unknown>> = [];
    try {
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
      if (telemetry) {
        closers.push(() => telemetry.close());
        log.info({ url: `http://${config.telemetry.host}:${telemetry.port}/metrics` }, 'telemetry server listening (loading the model)');
      }

      const pkg = await loadModelPackage(config.model.dir);
      const name = pkg.manifest.name;
      board.model = name;
      const head = config.model.verdictHead ? verdictHead(config.model.verdictHead) : undefined;
      const calibrationPath = config.calibration.path || defaultCalibrationPath(name);
      // The heads the calibration judges with are compiled in (its verdict rule's, or
      // model.verdictHead), and react's and mahalanobis' feature statistics with them.
      const needs = await readScorerNeeds(calibrationPath, head);
      const judgeHeads = needs?.judgeHeads ?? (head ? [head] : []);
      const compiledHeads = [...new Set([...DEFAULT_HEADS, ...judgeHeads])];
      const featureStats = needs?.featureStats;
      const compiledStats = featureStats !== undefined;
      const started = performance.now();
      const { scorer, compiled, model } = await loadScorer(
        pkg,
        {
          executionProviders: config.runtime.executionProviders,
          requireGpu: config.runtime.requireGpu,
          intraOpThreads: config.runtime.intraOpThreads,
          cudaDeviceId: config.runtime.cudaDeviceId,
          // convict has checked both against the schema's lists.
          shapes: { maxBatch: config.runtime.maxBatch, pad: config.runtime.padBatches as ShapePolicy, warmup: config.runtime.warmup as ShapePolicy },
          taps: config.model.taps,
          heads: compiledHeads,
          ...(featureStats ? { headSettings: { featureStats } } : {}),
          // convict has checked it against the schema's list.
          gaiaZMode: config.model.gaiaZMode as GaiaZMode,
        },
        { batchTimeoutMs: config.runtime.batchTimeoutMs },
      );
      closers.push(() => scorer.close());
      board.scorer = scorer;
      if (scorer.fallbacks.length > 0) log.warn({ tried: scorer.fallbacks, using: scorer.executionProvider }, `execution provider fallback: using ${scorer.executionProvider}`);
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
          ms: Math.round(performance.now() - started),
        },
        'scoring graph compiled and loaded',
      );
      // The scorer's compile already resolved the taps: no second compile for the fingerprint.
      const fingerprint = fingerprintOf(model, compiled.taps, pkg.manifest);
      const calibration = await CalibrationSlot.open(config.calibration.path, { model: name, fingerprint, head, compiledHeads, compiledStats });
      const judge = calibration.current?.judge;
      if (judge) log.info({ calibration: calibration.path, verdict: judge.describe(), heads: judge.heads, p0: judge.flagRate }, 'calibration loaded');

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
      const drift = judge ? driftMonitor(config, judge.flagRate) : undefined;
      if (drift) metrics.watchDrift((source) => drift.state(source), () => drift.thresholds.expectedRunTime);

      const stream = await openStream(config, pkg.dir, log, deps.json ? deps.stdout : undefined);
      closers.push(() => stream.source.close());
      board.source = stream.source;
      metrics.watchLag(() => stream.source.lag());
      const header = judge
        ? `model ${name}; verdicts: ${judge.describe()} (${calibration.path}, p0 ${(100 * judge.flagRate).toFixed(1)}%); drift: ${driftInWords(config, drift!)}`
        : `model ${name}; no calibration found: scores only, no verdicts or drift (write one with gaia-sentinel calibrate)`;
      if (drift) log.info({ configuredRunTime: config.drift.expectedRunTime, referenceFps: config.drift.referenceFps, ...drift.thresholds }, `drift alarms: ${driftInWords(config, drift)}`);
      // With --json stdout holds only records: the console view stays silent.
      const view = new ConsoleView({ out: deps.json ? { write: () => true } : deps.stdout, verbose: deps.verbose ?? false, keepRecords: stream.finite && !deps.json, judged: judge !== undefined });
      return new Agent({ config, log, board, telemetry, pkg, scorer, fingerprint, calibration, metrics, drift, stream, console: view, header });
    } catch (err) {
      await release(closers);
      throw err;
    }
  }

  health(): AgentHealth {
    return this.p.board.snapshot();
  }

  /**
   * Reads the calibration file again (SIGHUP, or the file changed) and, when it is valid,
   * made for this model and different, swaps it in: verdicts from the next batch on use it,
   * drift tests use its p0, the gauges follow, and a calibration-changed event is published.
   * A file that fails any check is logged and counted, and the loaded calibration stays.
   * Frames keep flowing throughout: nothing is paused or dropped.
   */
  async reloadCalibration(): Promise<ReloadOutcome> {
    const { log, metrics } = this.p;
    const outcome = await this.p.calibration.reload();
    metrics.calibrationReload(outcome.kind);
    if (outcome.kind === 'failed') {
      log.error({ calibration: this.p.calibration.path, code: outcome.error.code, err: outcome.error.message }, 'calibration reload failed: keeping the loaded calibration');
      return outcome;
    }
    if (outcome.kind === 'unchanged') {
      log.info({ calibration: this.p.calibration.path }, 'calibration reload: the file is unchanged');
      return outcome;
    }
    this.apply(outcome.previous, outcome.current);
    return outcome;
  }

  private apply(previous: LoadedCalibration | undefined, current: LoadedCalibration): void {
    const { config, log, metrics, console: view, stream } = this.p;
    const { judge } = current;
    if (this.drift) this.drift.setBaseline(judge.flagRate);
    else {
      const drift = driftMonitor(config, judge.flagRate);
      this.drift = drift;
      metrics.watchDrift((source) => drift.state(source), () => drift.thresholds.expectedRunTime);
      view.judging();
    }
    metrics.setCalibration(calibrationMetrics(current));
    const event = calibrationChanged({ model: this.p.pkg.manifest.name, modelFingerprint: this.p.fingerprint }, previous?.ref ?? null, current.ref, Date.now());
    view.event(event);
    view.line(`  verdicts now: ${judge.describe()}, p0 ${(100 * judge.flagRate).toFixed(1)}%${previous ? ` (was ${previous.judge.describe()})` : ''} (${current.path})`);
    stream.sink.publish({ events: [event], records: [], letters: [] }).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'calibration-changed event not published'));
    log.info(
      { calibration: current.path, createdAt: current.file.createdAt, verdict: judge.describe(), rawThreshold: judge.rawThreshold, p0: judge.flagRate, previousRawThreshold: previous?.judge.rawThreshold },
      'calibration reloaded: verdicts use it from the next batch',
    );
  }

  /** Streams frames until the source ends or close() is called; rejects with the failure that stopped it. Memoised. */
  run(): Promise<PipelineStats> {
    this.running ??= this.runOnce();
    return this.running;
  }

  private async runOnce(): Promise<PipelineStats> {
    const { config, log, board, scorer, metrics, stream, console: view } = this.p;
    const { source } = stream;
    if (this.closing || this.aborting) throw new GaiaError(ErrorCodes.RUNTIME, 'the agent was closed before it ran');
    board.phase = 'running';
    view.line(stream.description);
    view.line(this.p.header);
    // Sources that went quiet give back their window and metric series (bounded memory).
    const idleSweep =
      config.drift.idleForgetMs > 0
        ? setInterval(() => {
            for (const s of this.drift?.forgetIdle() ?? []) metrics.forgetSource(s);
          }, Math.min(60_000, config.drift.idleForgetMs)).unref()
        : undefined;
    // A changed calibration file is picked up without a signal (polling stat, which also
    // sees a Kubernetes ConfigMap update: those swap a symlink, which fs.watch misses).
    const watched = config.calibration.watchIntervalMs > 0 ? this.p.calibration.path : undefined;
    if (watched) {
      watchFile(watched, { interval: config.calibration.watchIntervalMs, persistent: false }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) void this.reloadCalibration();
      });
    }
    // Drift windows live with the partition owner (docs/DEFINITIONS.md#drift-episodes): when a rebalance moves a
    // partition away, its sources' windows and drift series go; the new owner starts afresh.
    source.onRevoked(({ partitions }) => {
      const drift = this.drift;
      // Without a changelog the state cannot follow: open episodes end here, said so.
      const orphaned = stream.restore ? [] : (drift?.activeOn(partitions) ?? []);
      const resets = orphaned.map((s) => ({
        type: 'drift-state-reset' as const,
        source: s,
        model: this.p.pkg.manifest.name,
        modelFingerprint: this.p.fingerprint,
        calibration: this.p.calibration.current?.ref ?? null,
        ...(drift?.startedAt(s) === undefined ? {} : { startedAt: drift.startedAt(s)! }),
        reason: 'its partition moved to another consumer and no drift changelog is configured (drift.changelogTopic)',
        ts: Date.now(),
      }));
      const sources = drift?.forgetPartitions(partitions) ?? [];
      for (const s of sources) metrics.forgetSource(s);
      if (resets.length > 0) {
        for (const e of resets) view.event(e);
        stream.sink.publish({ events: resets, records: [], letters: [] }).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'drift-state-reset events not published'));
      }
      log.info({ partitions, sources: sources.length }, "partitions moved to another consumer; their sources' drift state dropped here");
    });
    // With a changelog: a partition's sources get their windows back before its frames are scored.
    const restore = stream.restore;
    if (restore) {
      source.onAssigned(async (partitions) => {
        const drift = this.drift;
        if (!drift) return; // no calibration yet: no drift state to restore
        const started = performance.now();
        try {
          const snapshots = await restore(partitions);
          let restored = 0;
          for (const snap of snapshots.values()) if (snap.partition !== undefined && partitions.includes(snap.partition) && drift.restore(snap)) restored++;
          log.info({ partitions, sources: restored, ms: Math.round(performance.now() - started) }, 'drift state restored from the changelog');
        } catch (err) {
          log.warn({ partitions, err: (err as Error).message }, 'drift state not restored: these sources start afresh');
        }
      });
    }
    source.onCommitFailed?.((err) => {
      metrics.commitFailed();
      // A deferred commit is retried with the next one; lag grows until one succeeds.
      log.warn({ err: err.message }, 'the brokers refused an offset commit');
    });
    // A dead scorer stops the source at once: an idle stream would otherwise wait on it forever.
    scorer.onDeath((err) => {
      log.error({ err: err.message }, 'the scorer worker is gone; stopping');
      board.fail(err.message);
      source.stop();
    });
    const observer: PipelineObserver = {
      batch: (size, seconds) => metrics.batch(size, seconds),
      verdict: (r) => {
        metrics.verdict(r);
        view.verdict(r);
      },
      event: (e) => view.event(e),
      deadLetter: (d) => {
        metrics.deadLetter(d);
        log.warn({ source: d.key, frame: d.frameId, reason: d.reason, err: d.message }, 'frame rejected');
      },
      sourcePaused: (paused) => metrics.sourcePaused(paused),
      watchQueue: (read) => metrics.watchQueue(read),
      deliveryFailed: (err, stage) => {
        metrics.deliveryFailed(err, stage);
        board.fail((err as Error).message);
        log.error({ err: (err as Error).message, code: (err as GaiaError).code, retriable: (err as GaiaError).retriable }, 'delivery failed: stopping, nothing after it is committed');
      },
    };
    let failure: unknown;
    let stats: PipelineStats | undefined;
    try {
      stats = await runPipeline({
        source,
        pre: new Preprocessor(this.p.pkg.manifest, config.frames),
        scorer,
        labels: this.p.pkg.manifest.labels,
        model: this.p.pkg.manifest.name,
        fingerprint: this.p.fingerprint,
        // Read together once per batch: a reload swaps all three between batches.
        judge: () => this.p.calibration.current?.judge,
        calibration: () => this.p.calibration.current?.ref,
        drift: () => this.drift,
        scoreHead: config.model.verdictHead || 'gaia_z',
        sinks: stream.sink,
        ...(stream.atomic ? { atomic: stream.atomic } : {}),
        maxBatch: config.runtime.maxBatch,
        maxWaitMs: config.runtime.maxWaitMs,
        highWaterMark: config.runtime.highWaterMark,
        decodeConcurrency: config.runtime.decodeConcurrency,
        deliveryIntervalMs: stream.deliveryIntervalMs,
        driftChangelog: stream.restore !== undefined,
        observer,
      });
      if (!scorer.alive) throw new GaiaError(ErrorCodes.RUNTIME, 'the scorer worker died', { retriable: true });
      const dead = source.health(Number.POSITIVE_INFINITY);
      if (!dead.live) throw new GaiaError(ErrorCodes.KAFKA, `the source stopped: ${String(dead.detail.crashed)}`, { retriable: true });
    } catch (err) {
      failure = isGaiaError(err) || !(err instanceof Error) ? err : new GaiaError(ErrorCodes.RUNTIME, err.message, { cause: err, retriable: true });
      board.fail((failure as Error).message ?? String(failure));
      board.phase = 'failed';
    } finally {
      clearInterval(idleSweep);
      if (watched) unwatchFile(watched);
    }
    // What was acknowledged is committed on failure too: it was delivered.
    await this.teardown();
    if (failure !== undefined) throw failure;
    board.phase = 'stopped';
    log.info({ ...stats }, 'stopped');
    view.summary(stats!);
    return stats!;
  }

  /** Stop fetching, finish and publish what is in flight, commit, disconnect. Memoised. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.p.board.phase === 'running' || this.p.board.phase === 'loading') this.p.board.phase = 'stopping';
      this.p.stream.source.stop();
      if (this.running) await this.running.then(
        () => undefined,
        () => undefined,
      );
      else await this.teardown();
    })();
    return this.closing;
  }

  /** Stop now without committing anything more (frames in flight are redelivered); memoised. */
  abort(): Promise<void> {
    this.aborting ??= (async () => {
      this.p.board.phase = 'stopping';
      const { stream, scorer, telemetry } = this.p;
      await Promise.allSettled([stream.source.abort(), scorer.abandon()]);
      await Promise.allSettled([stream.atomic?.close(), stream.sink.close(), telemetry?.close()]);
    })();
    return this.aborting;
  }

  /** Releases everything, newest first; the first failure is rethrown after all are tried. */
  private teardown(): Promise<void> {
    this.tearingDown ??= (async () => {
      const { stream, scorer, telemetry } = this.p;
      let first: unknown;
      for (const close of [() => stream.source.close(), () => stream.atomic?.close(), () => stream.sink.close(), () => telemetry?.close(), () => scorer.close()]) {
        try {
          await close();
        } catch (err) {
          first ??= err;
        }
      }
      if (first !== undefined) throw first;
    })();
    return this.tearingDown;
  }
}

/**
 * What the calibration gauges show: GAIA-Z's raw threshold (gaia_threshold keeps its meaning
 * whatever judges), p0, and the file's own digest (two calibrations of one model share the
 * model fingerprint).
 */
function calibrationMetrics(c: LoadedCalibration): CalibrationMetrics {
  const z = c.file.heads.gaia_z;
  return { ...(z ? { rawThreshold: z.rawThreshold } : {}), flagRate: c.judge.flagRate, fingerprint: c.ref.digest };
}

/** model.verdictHead, checked: a head the compiler offers that has a calibrated score. */
function verdictHead(name: string): HeadName {
  if (!(METHOD_HEADS as readonly string[]).includes(name)) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `invalid configuration: model.verdictHead (env GAIA_MODEL_VERDICT_HEAD) is "${name}"; choose one of ${METHOD_HEADS.join(', ')}`);
  }
  return name as HeadName;
}

function driftMonitor(config: Readonly<Config>, p0: number): DriftMonitor {
  return new DriftMonitor({
    window: config.drift.window,
    expectedRunTime: config.drift.expectedRunTime,
    ...(config.drift.alpha > 0 ? { alpha: config.drift.alpha } : {}),
    pValueCusum: config.drift.pValueCusum,
    p0,
    resolveAfterMs: config.drift.resolveAfterMs,
    ...(config.drift.resolveRate > 0 ? { resolveRate: config.drift.resolveRate } : {}),
    ...(config.drift.idleForgetMs > 0 ? { idleForgetMs: config.drift.idleForgetMs } : {}),
  });
}

/**
 * The drift alarm rate in words: "a false episode every 18144000 frames per source (7.0 days at 30 fps): window 500,
 * episode at 53 flagged (alone every 54.4M frames); p-value CUSUM h 28.07 (every 37.6M frames); window 500, ...".
 */
function driftInWords(config: Readonly<Config>, drift: DriftMonitor): string {
  const t = drift.thresholds;
  const fps = config.drift.referenceFps;
  const frames = (n: number) => (n >= 1e6 ? `${(n / 1e6).toPrecision(3)}M` : n >= 1e3 ? `${(n / 1e3).toPrecision(3)}k` : n.toFixed(0));
  const hours = t.expectedRunTime / fps / 3600;
  const when = hours >= 48 ? `${(hours / 24).toPrecision(3)} days` : `${hours.toPrecision(3)} hours`;
  const flag = `window ${config.drift.window}, episode at ${t.criticalCount} flagged${t.flagCountFrom === 'alpha' ? ` (drift.alpha ${config.drift.alpha})` : ''} (alone a false one every ${frames(t.flagCountRunTime)} frames)`;
  const cusum = t.cusumThreshold === undefined ? 'p-value CUSUM off' : `p-value CUSUM h ${t.cusumThreshold.toFixed(2)} (alone every ${frames(t.cusumRunTime!)} frames)`;
  return `a false episode every ${frames(t.expectedRunTime)} frames per source (${when} at ${fps} fps; drift.expectedRunTime ${config.drift.expectedRunTime}); ${flag}; ${cusum}`;
}
