/**
 * The agent as one component, wiring and lifecycle only: `Agent.create(config, deps)`
 * assembles its parts (startup.ts), `run()` streams frames through the pipeline until the
 * source ends, `close()` stops and drains (memoised), `abort()` stops without committing,
 * `health()` says whether it is alive and ready, `reloadCalibration()` swaps a changed
 * calibration in. Everything it opens is released on every path, in reverse order.
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { ReloadOutcome } from '../calibration/calibration-slot.js';
import type { Config } from '../config/load.js';
import { ErrorCodes, GaiaError, isGaiaError } from '../errors.js';
import { Preprocessor } from '../frames/preprocess.js';
import { runPipeline, type PipelineStats } from '../stream/pipeline.js';
import { createLogger } from '../telemetry/logger.js';
import { HealthBoard, type AgentHealth } from './health.js';
import { agentObserver } from './observer.js';
import { watchSource } from './source-events.js';
import { startSweeps } from './sweeps.js';
import { inputMeasure } from './input-measure.js';
import { activeCalibration, assemble, calibrationMetrics, type AgentDeps, type AgentParts } from './startup.js';

export type { AgentHealth } from './health.js';
export type { AgentDeps } from './startup.js';

/** Releases what was opened so far, newest first, on a failed start. */
async function release(closers: Array<() => Promise<unknown>>): Promise<void> {
  for (const close of closers.reverse()) await close().catch(() => {});
}

export class Agent {
  private running: Promise<PipelineStats> | undefined;
  private closing: Promise<void> | undefined;
  private aborting: Promise<void> | undefined;
  private tearingDown: Promise<void> | undefined;

  private constructor(private readonly p: AgentParts) {}

  static async create(config: Readonly<Config>, deps: AgentDeps): Promise<Agent> {
    const log = deps.log ?? createLogger(config.log);
    const board = new HealthBoard(config.telemetry.readyStaleMs);
    const closers: Array<() => Promise<unknown>> = [];
    try {
      return new Agent(await assemble(config, deps, log, board, closers));
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
    const { log, metrics, judging, console: view, stream, calibration } = this.p;
    const outcome = await calibration.reload();
    metrics.calibrationReload(outcome.kind);
    if (outcome.kind === 'failed') {
      log.error({ calibration: calibration.path, code: outcome.error.code, err: outcome.error.message }, 'calibration reload failed: keeping the loaded calibration');
      return outcome;
    }
    if (outcome.kind === 'unchanged') {
      log.info({ calibration: calibration.path }, 'calibration reload: the file is unchanged');
      return outcome;
    }
    const { previous, current } = outcome;
    const first = judging.drift === undefined;
    const event = judging.swap(activeCalibration(current), Date.now());
    const drift = judging.drift;
    if (first && drift) {
      metrics.watchDrift((source) => drift.state(source), () => drift.thresholds.expectedRunTime);
      view.judging();
    }
    metrics.setCalibration(calibrationMetrics(current));
    view.event(event);
    view.line(`  verdicts now: ${current.judge.describe()}, p0 ${(100 * current.judge.flagRate).toFixed(1)}%${previous ? ` (was ${previous.judge.describe()})` : ''} (${current.path})`);
    stream.sink.publish({ events: [event], records: [], letters: [] }).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'calibration-changed event not published'));
    log.info(
      { calibration: current.path, createdAt: current.file.createdAt, verdict: current.judge.describe(), rawThreshold: current.judge.rawThreshold, p0: current.judge.flagRate, previousRawThreshold: previous?.judge.rawThreshold },
      'calibration reloaded: verdicts use it from the next batch',
    );
    return outcome;
  }

  /** Streams frames until the source ends or close() is called; rejects with the failure that stopped it. Memoised. */
  run(): Promise<PipelineStats> {
    this.running ??= this.runOnce();
    return this.running;
  }

  private async runOnce(): Promise<PipelineStats> {
    const { log, board, console: view } = this.p;
    if (this.closing || this.aborting) throw new GaiaError(ErrorCodes.RUNTIME, 'the agent was closed before it ran');
    board.phase = 'running';
    view.line(this.p.stream.description);
    view.line(this.p.header);
    const unwatch = this.watch();
    let failure: unknown;
    let stats: PipelineStats | undefined;
    try {
      stats = await this.stream();
    } catch (err) {
      failure = isGaiaError(err) || !(err instanceof Error) ? err : new GaiaError(ErrorCodes.RUNTIME, err.message, { cause: err, retriable: true });
      board.fail((failure as Error).message ?? String(failure));
      board.phase = 'failed';
    } finally {
      unwatch();
    }
    // What was acknowledged is committed on failure too: it was delivered.
    await this.teardown();
    if (failure !== undefined) throw failure;
    board.phase = 'stopped';
    log.info({ ...stats }, 'stopped');
    view.summary(stats!);
    return stats!;
  }

  /** The pipeline from the stream's source to its sinks; a dead scorer or source fails it. */
  private async stream(): Promise<PipelineStats> {
    const { config, log, board, scorer, metrics, judging, stream, console: view } = this.p;
    const stats = await runPipeline({
      source: stream.source,
      pre: new Preprocessor(this.p.pkg.manifest, config.frames),
      decodeConcurrency: config.runtime.decodeConcurrency,
      measureInput: inputMeasure(config.camera, () => judging.calibration?.judge.heads),
      maxBatch: config.runtime.maxBatch,
      maxWaitMs: config.runtime.maxWaitMs,
      highWaterMark: config.runtime.highWaterMark,
      scorer,
      judging,
      sinks: stream.sink,
      ...(stream.atomic ? { atomic: stream.atomic } : {}),
      deliveryIntervalMs: stream.deliveryIntervalMs,
      observer: agentObserver(metrics, view, log, board),
    });
    if (!scorer.alive) throw new GaiaError(ErrorCodes.RUNTIME, 'the scorer worker died', { retriable: true });
    const dead = stream.source.health(Number.POSITIVE_INFINITY);
    if (!dead.live) throw new GaiaError(ErrorCodes.KAFKA, `the source stopped: ${String(dead.detail.crashed)}`, { retriable: true });
    return stats;
  }

  /** What runs beside the pipeline: the sweeps, the calibration file watch, the source's events. Returns how to stop it. */
  private watch(): () => void {
    const { config, calibration } = this.p;
    const stopSweeps = startSweeps(this.p);
    // A changed calibration file is picked up without a signal (polling stat, which also
    // sees a Kubernetes ConfigMap update: those swap a symlink, which fs.watch misses).
    const watched = config.calibration.watchIntervalMs > 0 ? calibration.path : undefined;
    if (watched) {
      watchFile(watched, { interval: config.calibration.watchIntervalMs, persistent: false }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) void this.reloadCalibration();
      });
    }
    watchSource(this.p);
    return () => {
      stopSweeps();
      if (watched) unwatchFile(watched);
    };
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
