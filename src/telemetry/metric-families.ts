/**
 * The agent's metric families on an injected registry: names, help, labels and buckets, in the
 * order /metrics lists them. Names follow the Prometheus naming guide (base units, `_total` only on
 * counters, 0–1 fractions as `_ratio`) so `promtool check metrics` is clean; the process and
 * Node.js metrics keep their standard unprefixed names, which stock dashboards expect.
 * AgentMetrics (metrics.ts) reports through them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DeliveryStage, PipelineQueue } from '../contracts/stream.js';

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

const DELIVERY_STAGES: readonly DeliveryStage[] = ['publish', 'commit', 'transaction'];

/** The verdicts, the calibration they are judged with, and the per-source drift state. */
export interface VerdictFamilies {
  readonly frames: Counter<'model' | 'source' | 'verdict'>;
  readonly predictions: Counter<'model' | 'class' | 'verdict'>;
  readonly scoreRatio: Histogram<'model'>;
  readonly threshold: Gauge<'model'>;
  readonly pValue: Histogram<'model'>;
  readonly firedBy: Counter<'model' | 'head'>;
  readonly p0: Gauge<'model'>;
  readonly calibrationLoaded: Gauge<'model'>;
  readonly calibrationInfo: Gauge<'model' | 'fingerprint'>;
  readonly driftRatio: Gauge<'model' | 'source'>;
  readonly driftActive: Gauge<'model' | 'source'>;
}

/** Batches, latency, dead letters, the model, deliveries, backpressure and calibration reloads. */
export interface PipelineFamilies {
  readonly batchSize: Histogram<never>;
  readonly inference: Histogram<never>;
  readonly latency: Histogram<never>;
  readonly deadLetters: Counter<'reason' | 'source'>;
  readonly damagedFrames: Counter<'reason' | 'action' | 'source'>;
  readonly modelInfo: Gauge<'model' | 'fingerprint' | 'execution_provider'>;
  readonly deliveryFailures: Counter<'stage'>;
  readonly commitFailures: Counter<never>;
  readonly paused: Gauge<never>;
  readonly pauses: Counter<never>;
  readonly calibrationReloads: Counter<'result'>;
  /** 1 while a source's camera-fault episode is open, by fault (frozen, broken): docs/DEFINITIONS.md#camera-faults. */
  readonly cameraFault: Gauge<'model' | 'source' | 'fault'>;
}

export type AgentFamilies = VerdictFamilies & PipelineFamilies;

/** What the gauges computed at scrape time read, on every scrape. */
export interface ScrapeReads {
  /** Consumer lag per input partition. */
  lag(): ReadonlyMap<number, number>;
  queue(): PipelineQueue;
  /** The drift alarms' expected run time (undefined: no calibration). */
  driftRunTime(): number | undefined;
  ready(): boolean;
}

/** Registers every family on the registry, in the order /metrics lists them. */
export function registerAgentFamilies(registry: Registry, model: string, version: string | undefined, read: ScrapeReads): AgentFamilies {
  const verdicts = registerVerdictFamilies(registry, version);
  return { ...verdicts, ...registerPipelineFamilies(registry, model, read) };
}

function registerVerdictFamilies(registry: Registry, version: string | undefined): VerdictFamilies {
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  new Gauge({ name: 'gaia_build_info', help: 'The agent release (value 1).', labelNames: ['version'], registers }).set({ version: version ?? 'unknown' }, 1);
  return {
    frames: new Counter({
      name: 'gaia_frames_total',
      help: 'Frames scored, by source and verdict (id, ood; unjudged while no calibration is loaded). Rejected frames are in gaia_dead_letters_total.',
      labelNames: ['model', 'source', 'verdict'],
      registers,
    }),
    predictions: new Counter({
      name: 'gaia_predictions_total',
      help: "Scored frames by the model's predicted class and verdict.",
      labelNames: ['model', 'class', 'verdict'],
      registers,
    }),
    scoreRatio: new Histogram({
      name: 'gaia_score_threshold_ratio',
      help: 'GAIA-Z raw score of each judged frame divided by the calibrated threshold (1 = the threshold; fixed buckets, summable across agents).',
      labelNames: ['model'],
      buckets: SCORE_RATIO_BUCKETS,
      registers,
    }),
    threshold: new Gauge({ name: 'gaia_threshold', help: 'Calibrated GAIA-Z raw threshold (95% TPR on ID data).', labelNames: ['model'], registers }),
    pValue: new Histogram({
      name: 'gaia_verdict_p_value',
      help: "Verdict ID p-values against the calibration frames: uniform on in-distribution data (each bucket's share ≈ its edge), piling up near 0 under a shift.",
      labelNames: ['model'],
      buckets: P_VALUE_BUCKETS,
      registers,
    }),
    firedBy: new Counter({
      name: 'gaia_flagged_by_head_total',
      help: 'Flagged frames by the head with the smallest ID p-value among those the verdict rule combines: which head fired.',
      labelNames: ['model', 'head'],
      registers,
    }),
    p0: new Gauge({ name: 'gaia_baseline_flag_ratio', help: 'Expected fraction of frames flagged with no shift (p0), from the calibration.', labelNames: ['model'], registers }),
    calibrationLoaded: new Gauge({ name: 'gaia_calibration_loaded', help: '1 while a calibration is loaded (verdicts and drift); 0: scores only.', labelNames: ['model'], registers }),
    calibrationInfo: new Gauge({ name: 'gaia_calibration_info', help: 'The loaded calibration (value 1).', labelNames: ['model', 'fingerprint'], registers }),
    driftRatio: new Gauge({ name: 'gaia_drift_ratio', help: 'Flagged fraction of the sliding drift window, per source.', labelNames: ['model', 'source'], registers }),
    driftActive: new Gauge({ name: 'gaia_drift_active', help: '1 while a drift episode is open for the source.', labelNames: ['model', 'source'], registers }),
  };
}

function registerPipelineFamilies(registry: Registry, model: string, read: ScrapeReads): PipelineFamilies {
  const registers = [registry];
  const batchSize = new Histogram({ name: 'gaia_batch_size', help: 'Frames per scored batch.', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers });
  const inference = new Histogram({ name: 'gaia_inference_duration_seconds', help: 'Time to score one batch.', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers });
  const latency = new Histogram({ name: 'gaia_end_to_end_latency_seconds', help: 'Frame capture time (ts header) to verdict.', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
  // source: bounded as every per-source label (source-labels.ts), so one bad camera of many shows as that camera.
  const deadLetters = new Counter({
    name: 'gaia_dead_letters_total',
    help: 'Frames that could not be scored and went to the dead-letter topic, by reason and source.',
    labelNames: ['reason', 'source'],
    registers,
  });
  const damagedFrames = new Counter({
    name: 'gaia_damaged_frames_total',
    help: 'Damaged frames (valid header, data decoded only by ignoring its errors), by reason (truncated, corrupt), action (dead-letter, score: frames.damaged) and source.',
    labelNames: ['reason', 'action', 'source'],
    registers,
  });
  const modelInfo = new Gauge({ name: 'gaia_model_info', help: 'The loaded model (value 1).', labelNames: ['model', 'fingerprint', 'execution_provider'], registers });
  const deliveryFailures = new Counter({
    name: 'gaia_delivery_failures_total',
    help: 'Deliveries the brokers refused, by stage (publish: outputs; commit: offsets; transaction: both, exactly-once); each stops the agent.',
    labelNames: ['stage'],
    registers,
  });
  for (const stage of DELIVERY_STAGES) deliveryFailures.inc({ stage }, 0); // 0, not absent, before the first failure
  const commitFailures = new Counter({
    name: 'gaia_commit_failures_total',
    help: 'Offset commits the brokers refused, deferred ones (retried with the next commit) included; one on the delivery path also counts in gaia_delivery_failures_total{stage="commit"}.',
    registers,
  });
  const paused = new Gauge({ name: 'gaia_source_paused', help: '1 while backpressure has paused fetching.', registers });
  const pauses = new Counter({ name: 'gaia_source_pauses_total', help: 'Times backpressure paused fetching (pauses shorter than a scrape show only here).', registers });
  registerScrapeGauges(registry, model, read);
  const calibrationReloads = new Counter({
    name: 'gaia_calibration_reloads_total',
    help: 'Calibration reloads (SIGHUP or a changed file) by result: changed, unchanged, failed (the loaded calibration stays).',
    labelNames: ['result'],
    registers,
  });
  const cameraFault = new Gauge({
    name: 'gaia_camera_fault_active',
    help: "1 while a source's camera-fault episode is open: fault frozen (its frames are the same picture) or broken (an improbable share of its frames cannot be scored).",
    labelNames: ['model', 'source', 'fault'],
    registers,
  });
  return { batchSize, inference, latency, deadLetters, damagedFrames, modelInfo, deliveryFailures, commitFailures, paused, pauses, calibrationReloads, cameraFault };
}

/** The gauges read on every scrape rather than set as the pipeline reports. */
function registerScrapeGauges(registry: Registry, model: string, read: ScrapeReads): void {
  const registers = [registry];
  new Gauge({
    name: 'gaia_consumer_lag',
    help: 'Frames of the input partition not yet committed: its end at the last fetch minus the committed offset.',
    labelNames: ['partition'],
    registers,
    // Read on every scrape, so the gauge is as fresh as the consumer's last fetch.
    collect() {
      this.reset(); // partitions this consumer no longer owns leave the gauge
      for (const [partition, lag] of read.lag()) this.set({ partition: String(partition) }, lag);
    },
  });
  new Gauge({
    name: 'gaia_pipeline_queued_frames',
    help: 'Frames held by the pipeline, by stage: decoding, scoring (batched or in the scorer), delivering (outputs not yet acknowledged by the brokers).',
    labelNames: ['stage'],
    registers,
    collect() {
      for (const [stage, frames] of Object.entries(read.queue())) this.set({ stage }, frames);
    },
  });
  new Gauge({
    name: 'gaia_drift_expected_run_time_frames',
    help: 'Expected frames between false drift-started events per source with no shift (drift.expectedRunTime, as its thresholds give it); absent without a calibration.',
    labelNames: ['model'],
    registers,
    collect() {
      const v = read.driftRunTime();
      this.reset();
      if (v !== undefined && Number.isFinite(v)) this.set({ model }, v);
    },
  });
  new Gauge({
    name: 'gaia_ready',
    help: '1 when the agent is ready (model loaded, source connected), as /readyz.',
    registers,
    collect() {
      this.set(read.ready() ? 1 : 0);
    },
  });
}

/**
 * gaia_drift_evidence_info{model,source,url}: 1 while a source's drift episode is open and
 * has an evidence page, so an alert's annotation can link to it (deploy/prometheus). One
 * series per open episode of a labelled source: bounded as the source labels are.
 */
export function registerEvidenceFamily(registry: Registry): Gauge<'model' | 'source' | 'url'> {
  return new Gauge({
    name: 'gaia_drift_evidence_info',
    help: "1 while the source's drift episode is open, with its evidence page as the url label (evidence.publicBaseUrl + /evidence/<episode>).",
    labelNames: ['model', 'source', 'url'],
    registers: [registry],
  });
}
