/**
 * The agent's Prometheus metrics (prefix gaia_, base units), on an injected registry: the
 * only module that imports prom-client. The pipeline reports through the methods below;
 * label values for sources go through SourceLabels so series stay bounded.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PipelineObserver } from '../stream/contracts.js';
import type { DeadLetter, VerdictRecord } from '../stream/events.js';
import { SourceLabels } from './source-labels.js';

/** A fresh registry: inject it, never use prom-client's global one (tests would share state). */
export { Registry as MetricsRegistry } from 'prom-client';

export interface MetricsOptions {
  /** Sources that get their own label (empty: the first topK seen). */
  readonly allowSources: readonly string[];
  readonly topKSources: number;
  /** Calibrated raw GAIA-Z threshold, to place the score buckets around it. */
  readonly threshold?: number;
}

/** Latencies outside this range come from a wrong or hostile `ts` header, not from the pipeline. */
const MAX_LATENCY_SECONDS = 86_400;

export class AgentMetrics implements PipelineObserver {
  private readonly sources: SourceLabels;
  private readonly frames: Counter<'source' | 'verdict'>;
  private readonly score: Histogram<never>;
  private readonly threshold: Gauge<never>;
  private readonly p0: Gauge<never>;
  private readonly driftRate: Gauge<'source'>;
  private readonly driftActive: Gauge<'source'>;
  private readonly batchSize: Histogram<never>;
  private readonly inference: Histogram<never>;
  private readonly latency: Histogram<never>;
  private readonly decodeErrors: Counter<'reason'>;
  private readonly deadLetters: Counter<never>;
  private readonly modelInfo: Gauge<'model' | 'fingerprint' | 'execution_provider'>;
  private readonly deliveryFailures: Counter<never>;
  private readonly lag: Gauge<'partition'>;
  private readonly calibrationReloads: Counter<'result'>;
  private lagSource: (() => ReadonlyMap<number, number>) | undefined;
  private readySource: (() => boolean) | undefined;
  /** Whether drift state is fed (a calibration is loaded): verdict() then reports drift per source. */
  private driftOf: ((source: string) => { rate: number; active: boolean } | undefined) | undefined;
  private judged = false;

  constructor(registry: Registry, options: MetricsOptions) {
    this.sources = new SourceLabels(options.allowSources, options.topKSources);
    const registers = [registry];
    collectDefaultMetrics({ register: registry, prefix: 'gaia_' });
    const t = options.threshold ?? 0.25;
    this.frames = new Counter({ name: 'gaia_frames_total', help: 'Frames by source and verdict (id, ood, error).', labelNames: ['source', 'verdict'], registers });
    this.score = new Histogram({
      name: 'gaia_score',
      help: 'GAIA-Z raw score per frame (higher = more out-of-distribution); buckets around the calibrated threshold.',
      buckets: [0.5, 0.7, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.2, 1.4, 2].map((f) => Number((t * f).toPrecision(4))),
      registers,
    });
    this.threshold = new Gauge({ name: 'gaia_threshold', help: 'Calibrated GAIA-Z raw threshold (95% TPR on ID data).', registers });
    this.p0 = new Gauge({ name: 'gaia_baseline_flag_rate', help: 'Expected fraction of frames flagged with no shift (p0).', registers });
    this.driftRate = new Gauge({ name: 'gaia_drift_rate', help: 'Flagged fraction in the sliding drift window, per source.', labelNames: ['source'], registers });
    this.driftActive = new Gauge({ name: 'gaia_drift_active', help: '1 while a drift episode is open for the source.', labelNames: ['source'], registers });
    this.batchSize = new Histogram({ name: 'gaia_batch_size', help: 'Frames per scored batch.', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers });
    this.inference = new Histogram({ name: 'gaia_inference_duration_seconds', help: 'Time to score one batch.', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers });
    this.latency = new Histogram({ name: 'gaia_end_to_end_latency_seconds', help: 'Frame capture time (ts header) to verdict.', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.decodeErrors = new Counter({ name: 'gaia_decode_errors_total', help: 'Frames that could not be scored, by reason.', labelNames: ['reason'], registers });
    this.deadLetters = new Counter({ name: 'gaia_dead_letters_total', help: 'Frames sent to the dead-letter topic.', registers });
    this.modelInfo = new Gauge({ name: 'gaia_model_info', help: 'The loaded model (value 1).', labelNames: ['model', 'fingerprint', 'execution_provider'], registers });
    this.deliveryFailures = new Counter({
      name: 'gaia_delivery_failures_total',
      help: 'Deliveries of outputs (or of a transaction) the brokers refused; each stops the agent.',
      registers,
    });
    const lagOf = () => this.lagSource?.() ?? new Map<number, number>();
    this.lag = new Gauge({
      name: 'gaia_consumer_lag',
      help: 'Frames of the input partition not yet committed: its end at the last fetch minus the committed offset.',
      labelNames: ['partition'],
      registers,
      // Read on every scrape, so the gauge is as fresh as the consumer's last fetch.
      collect() {
        this.reset(); // partitions this consumer no longer owns leave the gauge
        for (const [partition, lag] of lagOf()) this.set({ partition: String(partition) }, lag);
      },
    });
    const readyOf = () => this.readySource?.() ?? false;
    new Gauge({
      name: 'gaia_ready',
      help: '1 when the agent is ready (model loaded, source connected), as /readyz.',
      registers,
      collect() {
        this.set(readyOf() ? 1 : 0);
      },
    });
    this.calibrationReloads = new Counter({
      name: 'gaia_calibration_reloads_total',
      help: 'Calibration reloads (SIGHUP or a changed file) by result: changed, unchanged, failed (the loaded calibration stays).',
      labelNames: ['result'],
      registers,
    });
    if (options.threshold !== undefined) this.threshold.set(options.threshold);
  }

  /** A calibration swapped in while running: its threshold and baseline rate replace the gauges' values. */
  setCalibration(c: { rawThreshold: number; flagRate: number }): void {
    this.threshold.set(c.rawThreshold);
    this.p0.set(c.flagRate);
  }

  calibrationReload(result: 'changed' | 'unchanged' | 'failed'): void {
    this.calibrationReloads.inc({ result });
  }

  /** With a calibration: verdicts are judged, and each verdict also reports its source's drift state. */
  judge(driftOf: (source: string) => { rate: number; active: boolean } | undefined): void {
    this.judged = true;
    this.driftOf = driftOf;
  }

  /** Where to read readiness from, on each scrape. */
  watchReady(read: () => boolean): void {
    this.readySource = read;
  }

  /** Where to read the consumer lag per input partition from, on each scrape. */
  watchLag(read: () => ReadonlyMap<number, number>): void {
    this.lagSource = read;
  }

  setModel(model: string, fingerprint: string, executionProvider: string, p0?: number): void {
    this.modelInfo.set({ model, fingerprint: fingerprint.slice(0, 16), execution_provider: executionProvider }, 1);
    if (p0 !== undefined) this.p0.set(p0);
  }

  /** A verdict; `judged` and `drift` default to what judge() set up (the pipeline passes only the record). */
  verdict(r: VerdictRecord, judged = this.judged, drift = this.driftOf?.(r.source)): void {
    const source = this.sources.label(r.source);
    this.frames.inc({ source, verdict: !judged ? 'unjudged' : r.flagged ? 'ood' : 'id' });
    this.score.observe(r.score);
    if (r.capturedAt !== undefined) {
      const seconds = (r.scoredAt - r.capturedAt) / 1000;
      if (seconds >= 0 && seconds <= MAX_LATENCY_SECONDS) this.latency.observe(seconds);
    }
    if (drift) {
      this.driftRate.set({ source }, drift.rate);
      this.driftActive.set({ source }, drift.active ? 1 : 0);
    }
  }

  /**
   * Drops a source's series and gives its label slot back (it went quiet, or its partition
   * moved to another consumer, which reports it from now on): a stale drift_active=1 here
   * would keep its alert firing forever.
   */
  forgetSource(source: string): void {
    if (!this.sources.owns(source)) return; // counted as "other" (shared series) or never seen
    const label = this.sources.label(source);
    this.driftRate.remove({ source: label });
    this.driftActive.remove({ source: label });
    for (const verdict of ['id', 'ood', 'unjudged', 'error']) this.frames.remove({ source: label, verdict });
    this.sources.release(source);
  }

  batch(size: number, seconds: number): void {
    this.batchSize.observe(size);
    this.inference.observe(seconds);
  }

  deadLetter(d: DeadLetter): void {
    this.frames.inc({ source: this.sources.label(d.key ?? 'unkeyed'), verdict: 'error' });
    this.decodeErrors.inc({ reason: d.reason });
    this.deadLetters.inc();
  }

  deliveryFailed(): void {
    this.deliveryFailures.inc();
  }
}
