/**
 * The agent's Prometheus metrics, on an injected registry. metric-families.ts registers the
 * families (names, help, buckets); the two are the only modules that import prom-client.
 * The pipeline reports through the methods below; source label values go through
 * SourceLabels and class labels through the model's label set, so series stay bounded.
 */
import type { Registry } from 'prom-client';
import type { DeliveryStage, FrameDamage, PipelineObserver, PipelineQueue } from '../contracts/stream.js';
import type { AlertEvent, DeadLetter, VerdictRecord } from '../contracts/events.js';
import { registerAgentFamilies, registerEvidenceFamily, type AgentFamilies } from './metric-families.js';
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

/** The head with the smallest p-value (the first, on ties). */
function smallest(p: Readonly<Record<string, number>>): string {
  let best = '';
  let min = Infinity;
  for (const [h, v] of Object.entries(p)) if (v < min) [best, min] = [h, v];
  return best;
}

const VERDICTS = ['id', 'ood', 'unjudged'] as const;
const CAMERA_FAULTS = ['frozen', 'broken'] as const;

export class AgentMetrics implements PipelineObserver {
  private readonly model: string;
  private readonly classes: ReadonlySet<string>;
  private readonly sources: SourceLabels;
  /** Every metric family, registered on the injected registry (metric-families.ts). */
  private readonly families: AgentFamilies;
  private lagSource: (() => ReadonlyMap<number, number>) | undefined;
  private readySource: (() => boolean) | undefined;
  private queueSource: (() => PipelineQueue) | undefined;
  /** Drift state per source, read on each verdict (fed while a calibration is loaded). */
  private driftOf: ((source: string) => { rate: number; active: boolean } | undefined) | undefined;
  /** The drift alarms' expected run time (frames between false episodes per source), read on each scrape. */
  private driftRunTime: (() => number) | undefined;
  private calibration: CalibrationMetrics | undefined;
  /** Per source label, the dead-letter and damaged-frame series it has, so forgetting the source removes them. */
  private readonly rejectedSeries = new Map<string, Set<string>>();
  /** Source labels whose camera-fault gauges exist (0 from their first verdict, so an alert on them has a series to read). */
  private readonly faultSeries = new Set<string>();
  private readonly evidence: ReturnType<typeof registerEvidenceFamily>;
  /** The evidence page of each labelled source's open episode (the url label of its series). */
  private readonly evidenceUrls = new Map<string, string>();

  constructor(registry: Registry, options: MetricsOptions) {
    this.model = options.model;
    this.classes = new Set(options.classes ?? []);
    this.sources = new SourceLabels(options.allowSources, options.topKSources);
    this.families = registerAgentFamilies(registry, options.model, options.version, {
      lag: () => this.lagSource?.() ?? new Map<number, number>(),
      queue: () => this.queueSource?.() ?? { decoding: 0, scoring: 0, delivering: 0 },
      driftRunTime: () => this.driftRunTime?.(),
      ready: () => this.readySource?.() ?? false,
    });
    this.evidence = registerEvidenceFamily(registry);
    this.setCalibration(undefined);
  }

  /**
   * The calibration verdicts are judged with, or undefined for none; call it again after a
   * reload: the threshold, p0 and calibration gauges are replaced, never left stale.
   */
  setCalibration(c: CalibrationMetrics | undefined): void {
    this.calibration = c;
    const model = this.model;
    this.families.threshold.reset();
    this.families.p0.reset();
    this.families.calibrationInfo.reset();
    this.families.calibrationLoaded.set({ model }, c ? 1 : 0);
    if (!c) return;
    if (c.rawThreshold !== undefined) this.families.threshold.set({ model }, c.rawThreshold);
    this.families.p0.set({ model }, c.flagRate);
    this.families.calibrationInfo.set({ model, fingerprint: c.fingerprint.slice(0, 16) }, 1);
  }

  calibrationReload(result: 'changed' | 'unchanged' | 'failed'): void {
    this.families.calibrationReloads.inc({ result });
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
    this.families.modelInfo.reset();
    this.families.modelInfo.set({ model: this.model, fingerprint: fingerprint.slice(0, 16), execution_provider: executionProvider }, 1);
  }

  /** A verdict; `judged` and `drift` default to the loaded calibration and the watched drift state. */
  verdict(r: VerdictRecord, judged = this.calibration !== undefined, drift = this.driftOf?.(r.source)): void {
    const model = this.model;
    const source = this.sources.label(r.source);
    const verdict = !judged ? 'unjudged' : r.flagged ? 'ood' : 'id';
    this.families.frames.inc({ model, source, verdict });
    this.families.predictions.inc({ model, class: this.classes.has(r.predictedClass) ? r.predictedClass : 'other', verdict });
    const t = this.calibration?.rawThreshold;
    // GAIA-Z ÷ its threshold (1 = where GAIA-Z alone would flag), whatever judges.
    const z = r.head === 'gaia_z' ? r.score : r.scores?.gaia_z;
    if (judged && z !== undefined && t !== undefined && t > 0) this.families.scoreRatio.observe({ model }, z / t);
    if (judged && r.pValue !== undefined) this.families.pValue.observe({ model }, r.pValue);
    if (judged && r.flagged && r.pValues) this.families.firedBy.inc({ model, head: smallest(r.pValues) });
    if (r.capturedAt !== undefined) {
      const seconds = (r.scoredAt - r.capturedAt) / 1000;
      if (seconds >= 0 && seconds <= MAX_LATENCY_SECONDS) this.families.latency.observe(seconds);
    }
    if (source !== 'other' && !this.faultSeries.has(source)) {
      this.faultSeries.add(source);
      for (const fault of CAMERA_FAULTS) this.families.cameraFault.set({ model, source, fault }, 0);
    }
    if (drift) {
      this.families.driftRatio.set({ model, source }, drift.rate);
      this.families.driftActive.set({ model, source }, drift.active ? 1 : 0);
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
    this.families.driftRatio.remove(labels);
    this.families.driftActive.remove(labels);
    this.dropEvidence(source);
    for (const verdict of VERDICTS) this.families.frames.remove({ ...labels, verdict });
    for (const series of this.rejectedSeries.get(labels.source) ?? []) {
      const [family, reason, action] = series.split('\u0000') as [string, string, string];
      if (family === 'dead') this.families.deadLetters.remove({ reason, source: labels.source });
      else this.families.damagedFrames.remove({ reason, action, source: labels.source });
    }
    this.rejectedSeries.delete(labels.source);
    for (const fault of CAMERA_FAULTS) this.families.cameraFault.remove({ ...labels, fault });
    this.faultSeries.delete(labels.source);
    this.sources.release(source);
  }

  /** A drift event: an opening episode with an evidence page links it (gaia_drift_evidence_info) until the episode ends. */
  driftEvent(e: AlertEvent): void {
    if (e.type !== 'drift-started' && e.type !== 'drift-resolved' && e.type !== 'drift-silent' && e.type !== 'drift-state-reset') return;
    if (!this.sources.owns(e.source)) return;
    this.dropEvidence(e.source);
    if (e.type !== 'drift-started' || e.evidenceUrl === undefined) return;
    this.evidence.set({ model: this.model, source: this.sources.label(e.source), url: e.evidenceUrl }, 1);
    this.evidenceUrls.set(e.source, e.evidenceUrl);
  }

  private dropEvidence(source: string): void {
    const url = this.evidenceUrls.get(source);
    if (url === undefined) return;
    this.evidence.remove({ model: this.model, source: this.sources.label(source), url });
    this.evidenceUrls.delete(source);
  }

  batch(size: number, seconds: number): void {
    this.families.batchSize.observe(size);
    this.families.inference.observe(seconds);
  }

  /** A frame that could not be scored: counted here only, not in gaia_frames_total. */
  deadLetter(d: DeadLetter): void {
    // A message without a key has no source of its own: "other", as every source without a slot.
    const source = d.key === undefined ? 'other' : this.sources.label(d.key);
    this.families.deadLetters.inc({ reason: d.reason, source });
    this.remember(source, `dead\u0000${d.reason}\u0000`);
  }

  /** A damaged frame, whether dead-lettered (also counted above, reason "damaged") or scored. */
  damagedFrame(message: { readonly source: string }, damage: FrameDamage): void {
    const source = this.sources.label(message.source);
    this.families.damagedFrames.inc({ reason: damage.kind, action: damage.action, source });
    this.remember(source, `damaged\u0000${damage.kind}\u0000${damage.action}`);
  }

  /** An event: a camera-fault episode sets its source's gauge (1 open, 0 resolved). */
  event(e: AlertEvent): void {
    if (e.type !== 'frozen-frame' && e.type !== 'broken-frames') return;
    const source = this.sources.label(e.source);
    if (source === 'other') return; // a shared series cannot say which camera
    this.faultSeries.add(source);
    this.families.cameraFault.set({ model: this.model, source, fault: e.type === 'frozen-frame' ? 'frozen' : 'broken' }, e.state === 'started' ? 1 : 0);
  }

  private remember(source: string, series: string): void {
    if (source === 'other') return;
    let seen = this.rejectedSeries.get(source);
    if (!seen) this.rejectedSeries.set(source, (seen = new Set()));
    seen.add(series);
  }

  sourcePaused(paused: boolean): void {
    this.families.paused.set(paused ? 1 : 0);
    if (paused) this.families.pauses.inc();
  }

  deliveryFailed(_err: unknown, stage: DeliveryStage): void {
    this.families.deliveryFailures.inc({ stage });
  }

  commitFailed(): void {
    this.families.commitFailures.inc();
  }
}
