/**
 * The agent's Prometheus metrics, on an injected registry: the only module that imports
 * prom-client. Names follow the Prometheus naming guide (base units, `_total` only on
 * counters, 0–1 fractions as `_ratio`) so `promtool check metrics` is clean; the process and
 * Node.js metrics keep their standard unprefixed names, which stock dashboards expect.
 * The pipeline reports through the methods below; source label values go through
 * SourceLabels and class labels through the model's label set, so series stay bounded.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DeliveryStage, PipelineObserver, PipelineQueue } from '../contracts/stream.js';
import type { DeadLetter, VerdictRecord } from '../contracts/events.js';
import { SourceLabels } from './source-labels.js';

/** A fresh registry: inject it, never use prom-client's global one (tests would share state). */
export { Registry as MetricsRegistry } from 'prom-client';

export interface MetricsOptions {
  /** The loaded model's name: the `model` label, so a fleet that mixes models keeps them apart. */
  readonly model: string;
  /** The model's class labels: predictions are counted per class, any other value as "other". */
  readonly classes?: readonly string[];
  /** Sources that get their own label (empty: the first topK seen). */
  readonly allowSources: readonly string[];
  readonly topKSources: number;
  /** The agent's release, for gaia_build_info. */
  readonly version?: string;
}

/** What the verdicts are judged with; undefined while no calibration is loaded. */
export interface CalibrationMetrics {
  /** GAIA-Z's raw calibrated threshold, when the calibration has GAIA-Z (the verdict rule may combine it with other heads). */
  readonly rawThreshold?: number;
  /** p0, the fraction of frames flagged with no shift. */
  readonly flagRate: number;
  readonly fingerprint: string;
}

/** Latencies outside this range come from a wrong or hostile `ts` header, not from the pipeline. */
const MAX_LATENCY_SECONDS = 86_400;

/**
 * Score ÷ threshold buckets: the same edges on every agent whatever its calibration, so the
 * fleet's histograms sum. 1 is the threshold; the edges are densest around it.
 */
const SCORE_RATIO_BUCKETS = [0.25, 0.5, 0.7, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.2, 1.5, 2, 3, 5];

/**
 * prom-client's default `nodejs_active_{handles,requests,resources}_total` are gauges with a
 * counter's suffix (promtool rejects them); each equals the sum of the per-type gauge of the
 * same name without `_total`, so dropping them loses nothing: use sum(nodejs_active_handles).
 */
const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Edges of the p-value histogram: dense near 0, where shifted frames land, and at the 5% flag rate. */
const P_VALUE_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1];

/** The head with the smallest p-value (the first, on ties). */
function smallest(p: Readonly<Record<string, number>>): string {
  let best = '';
  let min = Infinity;
  for (const [h, v] of Object.entries(p)) if (v < min) [best, min] = [h, v];
  return best;
}

const VERDICTS = ['id', 'ood', 'unjudged'] as const;
const DELIVERY_STAGES: readonly DeliveryStage[] = ['publish', 'commit', 'transaction'];

export class AgentMetrics implements PipelineObserver {
  private readonly model: string;
  private readonly classes: ReadonlySet<string>;
  private readonly sources: SourceLabels;
  private readonly frames: Counter<'model' | 'source' | 'verdict'>;
  private readonly predictions: Counter<'model' | 'class' | 'verdict'>;
  private readonly scoreRatio: Histogram<'model'>;
  private readonly threshold: Gauge<'model'>;
  private readonly pValue: Histogram<'model'>;
  private readonly firedBy: Counter<'model' | 'head'>;
  private readonly p0: Gauge<'model'>;
  private readonly calibrationLoaded: Gauge<'model'>;
  private readonly calibrationInfo: Gauge<'model' | 'fingerprint'>;
  private readonly driftRatio: Gauge<'model' | 'source'>;
  private readonly driftActive: Gauge<'model' | 'source'>;
  private readonly batchSize: Histogram<never>;
  private readonly inference: Histogram<never>;
  private readonly latency: Histogram<never>;
  private readonly deadLetters: Counter<'reason'>;
  private readonly modelInfo: Gauge<'model' | 'fingerprint' | 'execution_provider'>;
  private readonly deliveryFailures: Counter<'stage'>;
  private readonly commitFailures: Counter<never>;
  private readonly paused: Gauge<never>;
  private readonly pauses: Counter<never>;
  private readonly calibrationReloads: Counter<'result'>;
  private lagSource: (() => ReadonlyMap<number, number>) | undefined;
  private readySource: (() => boolean) | undefined;
  private queueSource: (() => PipelineQueue) | undefined;
  /** Drift state per source, read on each verdict (fed while a calibration is loaded). */
  private driftOf: ((source: string) => { rate: number; active: boolean } | undefined) | undefined;
  /** The drift alarms' expected run time (frames between false episodes per source), read on each scrape. */
  private driftRunTime: (() => number) | undefined;
  private calibration: CalibrationMetrics | undefined;

  constructor(registry: Registry, options: MetricsOptions) {
    this.model = options.model;
    this.classes = new Set(options.classes ?? []);
    this.sources = new SourceLabels(options.allowSources, options.topKSources);
    const registers = [registry];
    collectDefaultMetrics({ register: registry });
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
    new Gauge({ name: 'gaia_build_info', help: 'The agent release (value 1).', labelNames: ['version'], registers }).set({ version: options.version ?? 'unknown' }, 1);
    this.frames = new Counter({
      name: 'gaia_frames_total',
      help: 'Frames scored, by source and verdict (id, ood; unjudged while no calibration is loaded). Rejected frames are in gaia_dead_letters_total.',
      labelNames: ['model', 'source', 'verdict'],
      registers,
    });
    this.predictions = new Counter({
      name: 'gaia_predictions_total',
      help: "Scored frames by the model's predicted class and verdict.",
      labelNames: ['model', 'class', 'verdict'],
      registers,
    });
    this.scoreRatio = new Histogram({
      name: 'gaia_score_threshold_ratio',
      help: 'GAIA-Z raw score of each judged frame divided by the calibrated threshold (1 = the threshold; fixed buckets, summable across agents).',
      labelNames: ['model'],
      buckets: SCORE_RATIO_BUCKETS,
      registers,
    });
    this.threshold = new Gauge({ name: 'gaia_threshold', help: 'Calibrated GAIA-Z raw threshold (95% TPR on ID data).', labelNames: ['model'], registers });
    this.pValue = new Histogram({
      name: 'gaia_verdict_p_value',
      help: "Verdict ID p-values against the calibration frames: uniform on in-distribution data (each bucket's share ≈ its edge), piling up near 0 under a shift.",
      labelNames: ['model'],
      buckets: P_VALUE_BUCKETS,
      registers,
    });
    this.firedBy = new Counter({
      name: 'gaia_flagged_by_head_total',
      help: 'Flagged frames by the head with the smallest ID p-value among those the verdict rule combines: which head fired.',
      labelNames: ['model', 'head'],
      registers,
    });
    this.p0 = new Gauge({ name: 'gaia_baseline_flag_ratio', help: 'Expected fraction of frames flagged with no shift (p0), from the calibration.', labelNames: ['model'], registers });
    this.calibrationLoaded = new Gauge({ name: 'gaia_calibration_loaded', help: '1 while a calibration is loaded (verdicts and drift); 0: scores only.', labelNames: ['model'], registers });
    this.calibrationInfo = new Gauge({ name: 'gaia_calibration_info', help: 'The loaded calibration (value 1).', labelNames: ['model', 'fingerprint'], registers });
    this.driftRatio = new Gauge({ name: 'gaia_drift_ratio', help: 'Flagged fraction of the sliding drift window, per source.', labelNames: ['model', 'source'], registers });
    this.driftActive = new Gauge({ name: 'gaia_drift_active', help: '1 while a drift episode is open for the source.', labelNames: ['model', 'source'], registers });
    this.batchSize = new Histogram({ name: 'gaia_batch_size', help: 'Frames per scored batch.', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers });
    this.inference = new Histogram({ name: 'gaia_inference_duration_seconds', help: 'Time to score one batch.', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers });
    this.latency = new Histogram({ name: 'gaia_end_to_end_latency_seconds', help: 'Frame capture time (ts header) to verdict.', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.deadLetters = new Counter({ name: 'gaia_dead_letters_total', help: 'Frames that could not be scored and went to the dead-letter topic, by reason.', labelNames: ['reason'], registers });
    this.modelInfo = new Gauge({ name: 'gaia_model_info', help: 'The loaded model (value 1).', labelNames: ['model', 'fingerprint', 'execution_provider'], registers });
    this.deliveryFailures = new Counter({
      name: 'gaia_delivery_failures_total',
      help: 'Deliveries the brokers refused, by stage (publish: outputs; commit: offsets; transaction: both, exactly-once); each stops the agent.',
      labelNames: ['stage'],
      registers,
    });
    for (const stage of DELIVERY_STAGES) this.deliveryFailures.inc({ stage }, 0); // 0, not absent, before the first failure
    this.commitFailures = new Counter({
      name: 'gaia_commit_failures_total',
      help: 'Offset commits the brokers refused, deferred ones (retried with the next commit) included; one on the delivery path also counts in gaia_delivery_failures_total{stage="commit"}.',
      registers,
    });
    this.paused = new Gauge({ name: 'gaia_source_paused', help: '1 while backpressure has paused fetching.', registers });
    this.pauses = new Counter({ name: 'gaia_source_pauses_total', help: 'Times backpressure paused fetching (pauses shorter than a scrape show only here).', registers });
    const lagOf = () => this.lagSource?.() ?? new Map<number, number>();
    new Gauge({
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
    const queueOf = () => this.queueSource?.() ?? { decoding: 0, scoring: 0, delivering: 0 };
    new Gauge({
      name: 'gaia_pipeline_queued_frames',
      help: 'Frames held by the pipeline, by stage: decoding, scoring (batched or in the scorer), delivering (outputs not yet acknowledged by the brokers).',
      labelNames: ['stage'],
      registers,
      collect() {
        for (const [stage, frames] of Object.entries(queueOf())) this.set({ stage }, frames);
      },
    });
    const runTimeOf = () => this.driftRunTime?.();
    const model = options.model;
    new Gauge({
      name: 'gaia_drift_expected_run_time_frames',
      help: 'Expected frames between false drift-started events per source with no shift (drift.expectedRunTime, as its thresholds give it); absent without a calibration.',
      labelNames: ['model'],
      registers,
      collect() {
        const v = runTimeOf();
        this.reset();
        if (v !== undefined && Number.isFinite(v)) this.set({ model }, v);
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
    this.setCalibration(undefined);
  }

  /**
   * The calibration verdicts are judged with, or undefined for none; call it again after a
   * reload: the threshold, p0 and calibration gauges are replaced, never left stale.
   */
  setCalibration(c: CalibrationMetrics | undefined): void {
    this.calibration = c;
    const model = this.model;
    this.threshold.reset();
    this.p0.reset();
    this.calibrationInfo.reset();
    this.calibrationLoaded.set({ model }, c ? 1 : 0);
    if (!c) return;
    if (c.rawThreshold !== undefined) this.threshold.set({ model }, c.rawThreshold);
    this.p0.set({ model }, c.flagRate);
    this.calibrationInfo.set({ model, fingerprint: c.fingerprint.slice(0, 16) }, 1);
  }

  calibrationReload(result: 'changed' | 'unchanged' | 'failed'): void {
    this.calibrationReloads.inc({ result });
  }

  /** Where each verdict's drift state (flagged ratio in the window, episode open) is read from. */
  watchDrift(driftOf: (source: string) => { rate: number; active: boolean } | undefined, expectedRunTime?: () => number): void {
    this.driftOf = driftOf;
    this.driftRunTime = expectedRunTime;
  }

  /** Where to read readiness from, on each scrape. */
  watchReady(read: () => boolean): void {
    this.readySource = read;
  }

  /** Where to read the consumer lag per input partition from, on each scrape. */
  watchLag(read: () => ReadonlyMap<number, number>): void {
    this.lagSource = read;
  }

  /** The pipeline hands over where to read its queues from, on each scrape. */
  watchQueue(read: () => PipelineQueue): void {
    this.queueSource = read;
  }

  setModel(fingerprint: string, executionProvider: string): void {
    this.modelInfo.reset();
    this.modelInfo.set({ model: this.model, fingerprint: fingerprint.slice(0, 16), execution_provider: executionProvider }, 1);
  }

  /** A verdict; `judged` and `drift` default to the loaded calibration and the watched drift state. */
  verdict(r: VerdictRecord, judged = this.calibration !== undefined, drift = this.driftOf?.(r.source)): void {
    const model = this.model;
    const source = this.sources.label(r.source);
    const verdict = !judged ? 'unjudged' : r.flagged ? 'ood' : 'id';
    this.frames.inc({ model, source, verdict });
    this.predictions.inc({ model, class: this.classes.has(r.predictedClass) ? r.predictedClass : 'other', verdict });
    const t = this.calibration?.rawThreshold;
    // GAIA-Z ÷ its threshold (1 = where GAIA-Z alone would flag), whatever judges.
    const z = r.head === 'gaia_z' ? r.score : r.scores?.gaia_z;
    if (judged && z !== undefined && t !== undefined && t > 0) this.scoreRatio.observe({ model }, z / t);
    if (judged && r.pValue !== undefined) this.pValue.observe({ model }, r.pValue);
    if (judged && r.flagged && r.pValues) this.firedBy.inc({ model, head: smallest(r.pValues) });
    if (r.capturedAt !== undefined) {
      const seconds = (r.scoredAt - r.capturedAt) / 1000;
      if (seconds >= 0 && seconds <= MAX_LATENCY_SECONDS) this.latency.observe(seconds);
    }
    if (drift) {
      this.driftRatio.set({ model, source }, drift.rate);
      this.driftActive.set({ model, source }, drift.active ? 1 : 0);
    }
  }

  /**
   * Drops a source's series and gives its label slot back (it went quiet, or its partition
   * moved to another consumer, which reports it from now on): a stale drift_active=1 here
   * would keep its alert firing forever.
   */
  forgetSource(source: string): void {
    if (!this.sources.owns(source)) return; // counted as "other" (shared series) or never seen
    const labels = { model: this.model, source: this.sources.label(source) };
    this.driftRatio.remove(labels);
    this.driftActive.remove(labels);
    for (const verdict of VERDICTS) this.frames.remove({ ...labels, verdict });
    this.sources.release(source);
  }

  batch(size: number, seconds: number): void {
    this.batchSize.observe(size);
    this.inference.observe(seconds);
  }

  /** A frame that could not be scored: counted here only, not in gaia_frames_total. */
  deadLetter(d: DeadLetter): void {
    this.deadLetters.inc({ reason: d.reason });
  }

  sourcePaused(paused: boolean): void {
    this.paused.set(paused ? 1 : 0);
    if (paused) this.pauses.inc();
  }

  deliveryFailed(_err: unknown, stage: DeliveryStage): void {
    this.deliveryFailures.inc({ stage });
  }

  commitFailed(): void {
    this.commitFailures.inc();
  }
}
